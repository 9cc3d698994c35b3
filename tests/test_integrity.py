import hashlib
import os
import subprocess

import pytest

from zoo.integrity import VerificationError, VerifiedRecords, hash_file, verify


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
