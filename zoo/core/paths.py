"""Repository paths and ids from untrusted sources: reject anything that could escape its folder."""

from __future__ import annotations

import re

from zoo.core.errors import UsageError, ZooError

REPO_ID_RE = re.compile(r"[A-Za-z0-9][\w.\-]*/[A-Za-z0-9][\w.\-]*")
# git's ref-name rules (git check-ref-format) as the Hub applies them to branches, minus anything option-like.
BRANCH_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def is_repo_id(text: object) -> bool:
    """zoo's one rule for a Hub repo id: `org/name`, letters, digits, '_', '.' and '-', no '..'."""
    return isinstance(text, str) and REPO_ID_RE.fullmatch(text) is not None and ".." not in text


def check_repo_id(repo_id: str) -> str:
    """An `org/name` Hub repo id, or a UsageError saying what one looks like."""
    if not is_repo_id(repo_id):
        raise UsageError(f"{repo_id!r} is not a Hub repo id: write it as 'org/name', e.g. 'timm/resnet18.tv_in1k'.")
    return repo_id


def check_repo_path(path: str) -> str:
    """A file path inside a repository: relative, '/'-separated, with no '..', '.git' or empty parts."""
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or re.match(r"[A-Za-z]:", path)
        or any(part in ("", ".", "..", ".git") for part in parts)
    ):
        raise ZooError(f"refused the repository path {path!r}: it would escape the repository folder.")
    if CONTROL_RE.search(path):
        raise ZooError(f"refused the repository path {path!r}: file names with control characters are not pulled.")
    return path


def check_branch(branch: str, what: str = "branch") -> str:
    """A branch (or tag) name: git's ref-name rules, and never something a command could read as an option."""
    if (
        not isinstance(branch, str)
        or not BRANCH_RE.fullmatch(branch)
        or ".." in branch
        or branch.endswith((".", ".lock"))
        or "/." in branch
        or len(branch) > 200
    ):
        raise UsageError(
            f"{branch!r} is not a valid {what} name: use letters, digits, '_', '-', '.' and '/' "
            "(not first, no '..'), e.g. 'main' or 'v2'."
        )
    return branch
