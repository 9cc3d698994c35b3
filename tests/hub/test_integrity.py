import hashlib
import os
import subprocess

import pytest

from zoo.hub.integrity import VerificationError, VerifiedRecords, hash_file, verify


def test_digests_match_sha256_and_git(tmp_path):
    path = tmp_path / "weights.bin"
    path.write_bytes(os.urandom(10_000))
    digests = hash_file(path)
    assert digests.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (
        digests.git_sha1
        == subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True).stdout.strip()
    )
    assert digests.size == 10_000


def test_records_skip_unchanged_files_and_notice_changes(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"content")
    records = VerifiedRecords(tmp_path / "verified.json")
    digests = verify(path, "f", f"sha256:{hashlib.sha256(b'content').hexdigest()}", records)
    records.save()
    reloaded = VerifiedRecords(tmp_path / "verified.json")
    assert reloaded.lookup(path) == digests
    path.write_bytes(b"changed")
    assert reloaded.lookup(path) is None


def test_mismatch_deletes_the_file_and_its_blob(tmp_path):
    blob = tmp_path / "blobs" / "abc"
    blob.parent.mkdir()
    blob.write_bytes(b"bad")
    link = tmp_path / "snapshot-file"
    link.symlink_to(blob)
    with pytest.raises(VerificationError, match=r"expected sha256:0{64}, got sha256:[0-9a-f]{64}"):
        verify(link, "snapshot-file", "sha256:" + "0" * 64, VerifiedRecords(tmp_path / "v.json"))
    assert not blob.exists() and not link.is_symlink()


def _write_in_steps(path, parts, rename_to=None, truncate_after=None):
    """A writer like huggingface_hub's download: appends parts, flushing each, then moves the file into place."""
    import threading
    import time

    def write():
        with open(path, "wb") as fh:
            for i, part in enumerate(parts):
                if truncate_after is not None and i == truncate_after:
                    fh.seek(0)
                    fh.truncate()
                fh.write(part)
                fh.flush()
                time.sleep(0.01)
        if rename_to is not None:
            path.rename(rename_to)

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_following_digest_hashes_a_file_as_it_is_written(tmp_path):
    import hashlib

    from zoo.hub.integrity import FollowingDigest

    parts = [bytes([i]) * 300_000 for i in range(12)]
    follower = FollowingDigest(tmp_path, "abc*.incomplete")
    follower.start()
    _write_in_steps(tmp_path / "abc.1234.incomplete", parts, rename_to=tmp_path / "abc").join()
    digests = follower.result(tmp_path / "abc")
    assert digests is not None and digests.sha256 == hashlib.sha256(b"".join(parts)).hexdigest()
    assert digests.size == 12 * 300_000 and digests.sha256 == hash_file(tmp_path / "abc").sha256


@pytest.mark.parametrize("trouble", ["truncated", "rewound", "nothing", "replaced"])
def test_following_digest_refuses_what_it_cannot_vouch_for(tmp_path, trouble):
    from zoo.hub.integrity import FollowingDigest

    follower = FollowingDigest(tmp_path, "abc*.incomplete")
    follower.start()
    parts = [b"x" * 200_000] * 6
    final = tmp_path / "abc"
    if trouble == "truncated":  # the writer starts again from the top, with other bytes
        _write_in_steps(tmp_path / "abc.1.incomplete", [*parts, b"y" * 100], final, truncate_after=3).join()
    elif trouble == "rewound":  # what huggingface_hub's progress bar reports when it restarts a download
        _write_in_steps(tmp_path / "abc.1.incomplete", parts, final).join()
        follower.rewound()
    elif trouble == "nothing":  # the file was in the cache: no download happened
        final.write_bytes(b"cached")
    else:  # another file ended up in place
        _write_in_steps(tmp_path / "abc.1.incomplete", parts, tmp_path / "elsewhere").join()
        final.write_bytes(b"x" * 1_200_000)
    assert follower.result(final) is None
