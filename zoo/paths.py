"""Repository paths and ids from untrusted sources: reject anything that could escape its folder."""

from __future__ import annotations

import re

from zoo.errors import UsageError, ZooError

REPO_ID_RE = re.compile(r"^[A-Za-z0-9][\w.\-]*/[A-Za-z0-9][\w.\-]*$")


def check_repo_id(repo_id: str) -> str:
    """An `org/name` Hub repo id, or a UsageError saying what one looks like."""
    if not REPO_ID_RE.match(repo_id) or ".." in repo_id:
        raise UsageError(f"'{repo_id}' is not a Hub repo id: write it as 'org/name', e.g. 'timm/resnet18.tv_in1k'.")
    return repo_id


def check_repo_path(path: str) -> str:
    """A file path inside a repository: relative, '/'-separated, with no '..', '.git' or empty parts."""
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or "\0" in path
        or re.match(r"^[A-Za-z]:", path)
        or any(part in ("", ".", "..", ".git") for part in parts)
    ):
        raise ZooError(f"refused the repository path {path!r}: it would escape the repository folder.")
    return path
