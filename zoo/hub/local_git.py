"""Bare git repositories laid out as ROOT/models/<org>/<name>, the layout olah serves: a local hub's storage.

Commits are made with git's plumbing (hash-object, a temporary index, commit-tree) and land with one
compare-and-swap `update-ref`, so a failed publish leaves the branch as it was.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from zoo.core.atomic import clean_stale, temp_name
from zoo.core.errors import UsageError, ZooError
from zoo.core.paths import check_branch, check_repo_id, check_repo_path

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "zoo",
    "GIT_AUTHOR_EMAIL": "zoo@localhost",
    "GIT_COMMITTER_NAME": "zoo",
    "GIT_COMMITTER_EMAIL": "zoo@localhost",
}


class RepoNotFound(UsageError):
    """No repository with that id in the local hub."""


class RevisionNotFound(UsageError):
    """The repository has no such branch, tag or commit."""


@dataclass(frozen=True)
class TreeEntry:
    path: str
    oid: str  # the git blob id (sha1 of "blob <size>\\0" + content), as the Hub reports for regular files
    size: int


class LocalHub:
    """Bare git repositories under `root`, read and written with the git CLI."""

    def __init__(self, root: str | os.PathLike[str], kind: str = "models") -> None:
        self.root = Path(root).expanduser().resolve()
        #: "models" or "datasets": the folder under `root` that holds this kind of repository
        self.kind = kind

    def repo_path(self, repo_id: str) -> Path:
        org, name = check_repo_id(repo_id).split("/")
        return self.root / self.kind / org / name

    def _git(
        self,
        repo_id: str,
        *args: str,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        full_env = {**os.environ, **GIT_IDENTITY, "GIT_DIR": str(self.repo_path(repo_id)), **(env or {})}
        proc = subprocess.run(["git", *args], input=input, env=full_env, capture_output=True, check=False)
        if check and proc.returncode != 0:
            raise self._damaged(repo_id, args[0], proc.stderr)
        return proc

    def _damaged(self, repo_id: str, command: str, stderr: bytes) -> ZooError:
        reason = (stderr.decode(errors="replace").strip().splitlines() or ["no message"])[0]
        return ZooError(
            f"the local hub repository {repo_id} ({self.repo_path(repo_id)}) is damaged: git {command} failed "
            f"({reason}). Restore it from a copy, or delete it and publish again."
        )

    def exists(self, repo_id: str) -> bool:
        return (self.repo_path(repo_id) / "HEAD").is_file()

    def create_repo(self, repo_id: str, exist_ok: bool = True) -> Path:
        """`git init --bare` in a temporary folder, then rename it into place."""
        path = self.repo_path(repo_id)
        if self.exists(repo_id):
            if not exist_ok:
                raise UsageError(f"the repository {repo_id} already exists in {self.root}")
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(path.parent)
        tmp = Path(tempfile.mkdtemp(prefix=temp_name(), dir=path.parent))
        try:
            subprocess.run(
                ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(tmp)], check=True, capture_output=True
            )
            tmp.rename(path)
        except (OSError, subprocess.CalledProcessError):
            shutil.rmtree(tmp, ignore_errors=True)
            if not self.exists(repo_id):  # another process may have won the race
                raise
        return path

    def resolve(self, repo_id: str, revision: str = "main") -> str | None:
        """The commit id a branch, tag or commit names; None for a repository without commits yet."""
        if not self.exists(repo_id):
            raise RepoNotFound(f"no repository {repo_id} in the local hub {self.root}")
        check_branch(revision, "revision")
        self._git(repo_id, "rev-parse", "--git-dir")  # a bad HEAD or config: git does not see a repository
        proc = self._git(repo_id, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
        if proc.returncode == 0:
            return proc.stdout.decode().strip()
        if self._ref_file_exists(repo_id, revision):
            raise self._damaged(
                repo_id, "rev-parse", f"branch {revision} names no commit the repository holds".encode()
            )
        if revision == "main" and not self._ref_file_exists(repo_id, "main"):
            return None
        raise RevisionNotFound(f"{repo_id} has no revision '{revision}' in the local hub {self.root}")

    def tree(self, repo_id: str, commit: str) -> list[TreeEntry]:
        """Every file at a commit, with its blob id and size."""
        out = self._git(repo_id, "ls-tree", "-r", "-l", "-z", commit).stdout.decode()
        entries = []
        for record in filter(None, out.split("\0")):
            meta, path = record.split("\t", 1)
            _mode, kind, oid, size = meta.split()
            if kind == "blob" and not size.isdigit():  # git writes BAD for an object it cannot read
                raise self._damaged(repo_id, "ls-tree", f"the object {oid} of {path} is missing or damaged".encode())
            if kind == "blob":
                entries.append(TreeEntry(path=path, oid=oid, size=int(size)))
        return entries

    def read_blob(self, repo_id: str, oid: str, dest: Path) -> None:
        """Write a blob's content to `dest`, streaming it from `git cat-file`."""
        env = {**os.environ, "GIT_DIR": str(self.repo_path(repo_id))}
        with open(dest, "wb") as out:
            proc = subprocess.run(
                ["git", "cat-file", "blob", oid], stdout=out, stderr=subprocess.PIPE, env=env, check=False
            )
        if proc.returncode != 0:
            raise self._damaged(repo_id, "cat-file", proc.stderr)

    def commit(
        self,
        repo_id: str,
        files: Mapping[str, Path | bytes],
        message: str,
        branch: str = "main",
        deletions: tuple[str, ...] = (),
        parent: str | None = None,
    ) -> str:
        """Add or replace `files` (repo path -> local file or bytes) on `branch` in one commit; return its id.

        `parent`, when given, must be the branch's current commit (else the commit is refused).
        """
        check_branch(branch)
        current = self.resolve(repo_id, branch) if self._has_branch(repo_id, branch) else None
        if branch != "main" and current is None:
            raise RevisionNotFound(f"{repo_id} has no branch '{branch}'; create it first")
        if parent is not None and parent != current:
            raise ZooError(f"{repo_id}@{branch} moved to {current}, not {parent}: pull and retry")
        with tempfile.TemporaryDirectory(prefix=temp_name()) as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if current:
                self._git(repo_id, "read-tree", current, env=env)
            paths, sources = [], []
            for i, (repo_path, source) in enumerate(sorted(files.items())):
                paths.append(check_repo_path(repo_path))
                if isinstance(source, bytes):
                    staged = Path(tmp) / f"blob-{i}"
                    staged.write_bytes(source)
                    source = staged
                sources.append(str(source))
            oids = (
                self._git(
                    repo_id, "hash-object", "-w", "--no-filters", "--stdin-paths", input="\n".join(sources).encode()
                )
                .stdout.decode()
                .split()
                if sources
                else []
            )
            index_info = "".join(f"100644 {oid}\t{path}\n" for oid, path in zip(oids, paths, strict=True))
            index_info += "".join(f"0 {'0' * 40}\t{check_repo_path(p)}\n" for p in deletions)
            self._git(repo_id, "update-index", "--index-info", input=index_info.encode(), env=env)
            tree = self._git(repo_id, "write-tree", env=env).stdout.decode().strip()
            parents = ["-p", current] if current else []
            commit = self._git(repo_id, "commit-tree", tree, *parents, "-m", message).stdout.decode().strip()
        self._move_branch(repo_id, branch, commit, current)
        return commit

    def _move_branch(self, repo_id: str, branch: str, commit: str, expected: str | None) -> None:
        """Compare-and-swap the branch to `commit`; if another writer moved or holds it, ask for a retry."""
        proc = self._git(repo_id, "update-ref", f"refs/heads/{branch}", commit, expected or "0" * 40, check=False)
        if proc.returncode != 0:
            raise ZooError(
                f"{repo_id}@{branch} changed while zoo was committing (another publish to it landed first): "
                "nothing was written; retry."
            )

    def _ref_file_exists(self, repo_id: str, branch: str) -> bool:
        """Whether the branch is recorded at all, even pointing at a commit whose objects are gone."""
        repo = self.repo_path(repo_id)
        packed = repo / "packed-refs"
        in_packed = packed.is_file() and f" refs/heads/{branch}\n" in packed.read_text(errors="replace")
        return (repo / "refs" / "heads" / branch).is_file() or in_packed

    def _has_branch(self, repo_id: str, branch: str) -> bool:
        return (
            self._git(repo_id, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}", check=False).returncode == 0
        )

    def create_branch(self, repo_id: str, branch: str, start: str = "main") -> None:
        if not self._has_branch(repo_id, branch):
            commit = self.resolve(repo_id, start)
            if commit is None:
                raise RevisionNotFound(f"{repo_id} has no commit to branch '{branch}' from")
            self._move_branch(repo_id, branch, commit, None)
