"""Repositories that cannot be pulled as they are: a damaged local hub repository, and a tree holding a file and a
folder of the same name (on a local hub or a Hub server). Each is one line naming the repository, nothing is
written, nothing hangs."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from zoo_fixtures import assert_clean_error

from zoo.hub import pull as zhub
from zoo.hub.local_git import GIT_IDENTITY, LocalHub

CONFIG = json.dumps({"zoo_version": "0.1.0", "model": "cnn", "model_args": {}}).encode()


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    env = {**os.environ, **GIT_IDENTITY, "GIT_DIR": str(repo)}
    return subprocess.run(["git", *args], input=input, env=env, capture_output=True, check=True).stdout.decode().strip()


def one_line(proc) -> str:
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    return proc.stderr


@pytest.fixture
def local_hub(tmp_path) -> LocalHub:
    hub = LocalHub(tmp_path / "hub")
    hub.create_repo("hostile/model")
    hub.commit("hostile/model", {"config.json": CONFIG, "README.md": b"a model\n"}, "first")
    return hub


def object_file(repo: Path, oid: str) -> Path:
    """A loose object's file, made writable (git writes them read-only)."""
    path = repo / "objects" / oid[:2] / oid[2:]
    if path.exists():
        path.chmod(0o644)
    return path


def test_missing_or_damaged_objects_are_one_line_naming_the_repository(local_hub, run_zoo, zoo_env):
    repo = local_hub.repo_path("hostile/model")
    blob, commit = git(repo, "rev-parse", "main:config.json"), git(repo, "rev-parse", "main")
    saved = object_file(repo, blob).read_bytes()
    for damage in (b"not a git object", None):  # a damaged object, then a missing one
        if damage is None:
            object_file(repo, blob).unlink()
        else:
            object_file(repo, blob).write_bytes(damage)
        proc = run_zoo("pull", "hostile/model", "--hub", str(local_hub.root))
        damaged = f"the local hub repository hostile/model ({repo}) is damaged"
        assert_clean_error(proc, 1, damaged, f"the object {blob} of config.json is missing or damaged")
        one_line(proc)
        assert not (Path(zoo_env["ZOO_CACHE_DIR"]) / "local-hub" / "hostile" / "model" / commit).exists()
    object_file(repo, blob).write_bytes(saved)
    assert zhub.download("hostile/model", hub=local_hub.root).files  # restored, it pulls again


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda repo: (repo / "refs" / "heads" / "main").write_text("nonsense\n"), "branch main names no commit"),
        (lambda repo: (repo / "HEAD").write_text("garbage\n"), "not a git repository"),
        (lambda repo: object_file(repo, git(repo, "rev-parse", "main^{tree}")).unlink(), "git ls-tree failed"),
        (lambda repo: object_file(repo, git(repo, "rev-parse", "main")).unlink(), "branch main names no commit"),
    ],
    ids=["a ref that names no commit", "a damaged HEAD", "a missing tree", "a missing commit"],
)
def test_damaged_refs_and_history(local_hub, damage, words):
    repo = local_hub.repo_path("hostile/model")
    damage(repo)
    with pytest.raises(Exception) as error:
        zhub.download("hostile/model", hub=local_hub.root)
    message = str(error.value)
    assert type(error.value).__name__ == "ZooError" and len(message.splitlines()) == 1
    assert f"the local hub repository hostile/model ({repo}) is damaged" in message and words in message, message


def test_a_file_and_a_folder_of_the_same_name_on_a_local_hub(local_hub, run_zoo, zoo_env):
    """git can hold such a tree (written with mktree here); no file system can."""
    repo = local_hub.repo_path("hostile/model")
    blob = git(repo, "hash-object", "-w", "--stdin", input=b"one\n")
    config = git(repo, "hash-object", "-w", "--stdin", input=CONFIG)
    folder = git(repo, "mktree", input=f"100644 blob {blob}\tb\n".encode())
    listing = f"100644 blob {blob}\ta\n040000 tree {folder}\ta\n100644 blob {config}\tconfig.json\n"
    tree = git(repo, "mktree", input=listing.encode())
    commit = git(repo, "commit-tree", tree, "-m", "a and a/b")
    git(repo, "update-ref", "refs/heads/clash", commit)
    proc = run_zoo("pull", "hostile/model@clash", "--hub", str(local_hub.root))
    assert_clean_error(proc, 1, f"hostile/model@{commit} holds 'a' both as a file and as the folder of 'a/b'")
    one_line(proc)
    assert not (Path(zoo_env["ZOO_CACHE_DIR"]) / "local-hub" / "hostile" / "model" / commit).exists()


def test_a_file_and_a_folder_of_the_same_name_on_a_hub_server(hub_server, run_zoo, zoo_env):
    hub_server.hub.create_repo("clash/model")
    commit = hub_server.hub.commit("clash/model", {"config.json": CONFIG, "weights.txt": b"1\n"}, "first")
    hub_server.extra_tree["clash/model"] = [{"type": "file", "oid": "0" * 40, "size": 2, "path": "weights.txt/x"}]
    try:
        proc = run_zoo("pull", "clash/model", "--hub", hub_server.url)
    finally:
        del hub_server.extra_tree["clash/model"]
    assert_clean_error(proc, 1, f"clash/model@{commit} holds 'weights.txt' both as a file and as the folder of")
    one_line(proc)
    cache = Path(zoo_env["HF_HOME"]) / "hub" / "models--clash--model"
    assert not list(cache.glob("snapshots/*/*")) and not list(cache.glob("blobs/*"))
