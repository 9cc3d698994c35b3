import subprocess

import pytest

from zoo.core.errors import UsageError, ZooError
from zoo.hub.local_git import LocalHub, RepoNotFound, RevisionNotFound


def test_commits_history_and_blob_ids(tmp_path):
    hub = LocalHub(tmp_path)
    path = hub.create_repo("org/model")
    assert path == tmp_path.resolve() / "models" / "org" / "model"
    assert hub.resolve("org/model") is None  # empty until the first commit
    first = hub.commit("org/model", {"a.txt": b"one\n", "dir/b.txt": b"two\n"}, "first")
    second = hub.commit("org/model", {"a.txt": b"uno\n"}, "second", deletions=("dir/b.txt",))
    assert hub.resolve("org/model", "main") == second and hub.resolve("org/model", first[:10]) == first
    assert [e.path for e in hub.tree("org/model", first)] == ["a.txt", "dir/b.txt"]
    [entry] = hub.tree("org/model", second)
    expected = subprocess.run(["git", "hash-object", "--stdin"], input=b"uno\n", capture_output=True).stdout
    assert entry.oid == expected.decode().strip() and entry.size == 4
    out = tmp_path / "out"
    hub.read_blob("org/model", entry.oid, out)
    assert out.read_bytes() == b"uno\n"


def test_branches_and_stale_parents(tmp_path):
    hub = LocalHub(tmp_path)
    hub.create_repo("org/model")
    first = hub.commit("org/model", {"a": b"1"}, "first")
    hub.create_branch("org/model", "dev")
    dev = hub.commit("org/model", {"a": b"2"}, "on dev", branch="dev")
    assert hub.resolve("org/model", "main") == first and hub.resolve("org/model", "dev") == dev
    with pytest.raises(ZooError, match="moved to"):
        hub.commit("org/model", {"a": b"3"}, "stale", parent="0" * 40)
    assert hub.resolve("org/model") == first  # a refused commit leaves the branch as it was


def test_errors(tmp_path):
    hub = LocalHub(tmp_path)
    with pytest.raises(RepoNotFound):
        hub.resolve("org/none")
    hub.create_repo("org/model")
    hub.commit("org/model", {"a": b"1"}, "first")
    with pytest.raises(RevisionNotFound):
        hub.resolve("org/model", "v2")
    with pytest.raises(UsageError, match="not a Hub repo id"):
        hub.repo_path("../escape")
    for bad in ("../x", "/etc/passwd", "a/../../b", ".git/config", "a\\b"):
        with pytest.raises(ZooError, match="escape the repository folder"):
            hub.commit("org/model", {bad: b"x"}, "bad")
    with pytest.raises(UsageError, match="already exists"):
        hub.create_repo("org/model", exist_ok=False)
