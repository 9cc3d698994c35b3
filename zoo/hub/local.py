"""A local hub: a folder of bare git repositories (zoo.hub.local_git), pulled into zoo's cache and committed to as
a Hub endpoint is, for working offline and for tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from zoo.core.atomic import replacing
from zoo.core.cache import cache_dir
from zoo.core.errors import UsageError
from zoo.hub.local_git import LocalHub
from zoo.hub.selection import select_files
from zoo.hub.transport import Fetched, Target, Transport


class LocalTransport(Transport):
    """The git repositories under `root` (ROOT/models/ORG/NAME, olah's layout)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.git = LocalHub(root)

    def describe(self) -> str:
        return f"the local hub {self.root}"

    def check_pull_requests(self) -> None:
        raise UsageError("--create-pr needs a Hub endpoint; a local hub folder has no pull requests")

    def fetch(self, target: Target, offline: bool, allow_pickle: bool, want: Callable[[str], bool]) -> Fetched:  # noqa: ARG002 - a folder is always at hand
        git = self.git if target.repo_type == "model" else LocalHub(self.root, f"{target.repo_type}s")
        commit = git.resolve(target.repo_id, target.revision)
        if commit is None:
            raise UsageError(f"{target.repo_id} in {self.describe()} has no commits yet: publish to it first.")
        tree = {e.path: e for e in git.tree(target.repo_id, commit)}
        where = f"{target.repo_id}@{commit}"
        listed = (
            sorted(tree)
            if target.repo_type != "model"
            else select_files(sorted(tree), target.pins, allow_pickle, where)
        )
        chosen = [p for p in listed if want(p)]
        kind = "" if target.repo_type == "model" else f"{target.repo_type}s/"
        folder = cache_dir() / "local-hub" / f"{kind}{target.repo_id}" / commit
        for path in chosen:
            dest = folder / path
            if not dest.is_file():
                with replacing(dest) as tmp:
                    git.read_blob(target.repo_id, tree[path].oid, tmp)
        expected = {p: target.pins.get(p) or f"git-sha1:{tree[p].oid}" for p in chosen}
        return Fetched(folder, commit, expected, {p: tree[p].size for p in chosen}, sorted(tree))

    def commit(
        self,
        repo_id: str,
        files: Mapping[str, Path],
        message: str,
        revision: str,
        private: bool = False,  # noqa: ARG002 - a folder has no visibility
        create_pr: bool = False,
    ) -> tuple[str, str]:
        if create_pr:
            self.check_pull_requests()
        self.git.create_repo(repo_id, exist_ok=True)
        if revision != "main":
            self.git.create_branch(repo_id, revision)
        commit = self.git.commit(repo_id, files, message, branch=revision)
        return commit, f"{self.git.repo_path(repo_id).as_uri()}#{commit}"

    def search(self, query: str | None, task: str | None, author: str | None, sort: str, limit: int) -> list[Any]:  # noqa: ARG002
        raise UsageError(f"{self.describe()} is a folder: zoo search needs a Hub URL (--hub URL or HF_ENDPOINT)")
