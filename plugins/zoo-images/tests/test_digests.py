"""Each image file's SHA-256, remembered in zoo's cache while the file's size, mtime and ctime stay as recorded."""

import hashlib
import os
import time

import pytest
from zoo_images import digests

from zoo.core.errors import ZooWarning


@pytest.fixture
def hashed(tmp_path, monkeypatch):
    """The files `digests` reads, in order (the real reader still reads them); a cache of this test's own."""
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(digests, "RACY_NS", 0)  # files written just now may be remembered
    seen = []
    real = digests.file_digest
    monkeypatch.setattr(digests, "file_digest", lambda path: seen.append(path) or real(path))
    return seen


def run(files):
    return digests.digests([str(f) for f in files], [f.stat() for f in files])


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_digest_is_remembered_until_the_file_changes_even_with_its_mtime_set_back(tmp_path, hashed):
    files = [tmp_path / f"{i}.png" for i in range(3)]
    for i, f in enumerate(files):
        f.write_bytes(bytes([i]) * 5000)
    assert run(files) == [sha(f) for f in files] and sorted(hashed) == sorted(map(str, files))
    hashed.clear()
    assert run(files) == [sha(f) for f in files] and hashed == []  # from the cache
    before = files[0].stat()
    time.sleep(0.05)  # past the file system's clock tick, so that the ctime can move
    files[0].write_bytes(b"\x09" * 5000)  # the same size ...
    os.utime(files[0], ns=(before.st_atime_ns, before.st_mtime_ns))  # ... and the mtime set back
    assert files[0].stat().st_mtime_ns == before.st_mtime_ns
    assert run(files)[0] == hashlib.sha256(b"\x09" * 5000).hexdigest() and hashed == [str(files[0])]
    hashed.clear()
    os.utime(files[1])  # touched: read again, the same digest
    copy = tmp_path / "elsewhere.png"
    copy.write_bytes(files[2].read_bytes())  # the same bytes elsewhere: the same digest
    assert run([*files, copy]) == [sha(f) for f in files] + [sha(files[2])]
    assert sorted(hashed) == sorted([str(files[1]), str(copy)])  # hashed on threads: in any order


def test_a_file_changed_just_now_is_not_remembered(tmp_path, hashed, monkeypatch):
    monkeypatch.setattr(digests, "RACY_NS", 60 * 10**9)  # as if hashed within a clock tick of its last write
    f = tmp_path / "0.png"
    f.write_bytes(b"x" * 100)
    run([f])
    run([f])
    assert hashed == [str(f), str(f)]


def test_a_damaged_or_unwritable_cache_costs_only_hashing(tmp_path, hashed):
    f = tmp_path / "0.png"
    f.write_bytes(b"x" * 100)
    cache = tmp_path / "cache" / digests.CACHE_FILE
    cache.parent.mkdir()
    cache.write_bytes(b"not a database" * 100)
    with pytest.warns(ZooWarning, match=rf"cannot use the image digest cache {cache} .*: every image is hashed"):
        assert run([f]) == [sha(f)]
    cache.unlink()
    cache.mkdir()  # a folder where the cache file should be
    with pytest.warns(ZooWarning, match="cannot use the image digest cache"):
        assert run([f]) == [sha(f)]
    assert hashed == [str(f), str(f)]


@pytest.mark.usefixtures("hashed")
def test_an_unreadable_file_has_a_digest_of_its_own(tmp_path):
    gone = tmp_path / "gone.png"
    gone.write_bytes(b"x")
    stat = gone.stat()
    gone.unlink()
    assert digests.digests([str(gone)], [stat]) == [digests.UNREADABLE]
