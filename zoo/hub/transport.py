"""One interface to a hub, with two implementations chosen in one place (`open_hub`): a Hub endpoint through
huggingface_hub (zoo.hub.remote), or a local folder of git repositories (zoo.hub.local).

Pull, publish, pin and search are written once, on top of this interface.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.hub.integrity import Digests


@dataclass(frozen=True)
class Target:
    """What to pull: a repo at a revision, with the catalog's sha256 pins when it came from the catalog."""

    repo_id: str
    revision: str
    name: str | None = None
    pins: Mapping[str, str] = field(default_factory=dict)
    #: "model" or "dataset", as huggingface_hub's repo_type
    repo_type: str = "model"


@dataclass
class Fetched:
    """Files brought into the cache: where, at which commit, each one's reference digest and listed size."""

    folder: Path
    commit: str
    expected: dict[str, str]
    sizes: dict[str, int]
    listed: list[str]
    #: digests computed while downloading (FollowingDigest), so verification need not read those files again
    hashed: dict[str, Digests] = field(default_factory=dict)


@dataclass(frozen=True)
class PulledFile:
    path: str
    sha256: str
    size: int


class Transport(ABC):
    """A hub that zoo pulls from, commits to and searches."""

    def check_pull_requests(self) -> None:
        """Refuse `--create-pr` on a hub that has no pull requests (a Hub endpoint has them)."""
        return None

    @abstractmethod
    def describe(self) -> str:
        """The hub in words, for messages: its URL, or 'the local hub FOLDER'."""

    @abstractmethod
    def fetch(self, target: Target, offline: bool, allow_pickle: bool, want: Callable[[str], bool]) -> Fetched:
        """Bring the target's files (those `want` keeps, chosen by zoo.hub.selection) into the cache; unverified."""

    @abstractmethod
    def commit(
        self,
        repo_id: str,
        files: Mapping[str, Path],
        message: str,
        revision: str,
        private: bool = False,
        create_pr: bool = False,
    ) -> tuple[str, str]:
        """Add `files` (repo path -> local file) to `revision` in one commit, creating the repo and branch as needed;
        the commit id and its URL (or the pull request's)."""

    @abstractmethod
    def search(
        self, query: str | None, task: str | None, author: str | None, sort: str, limit: int
    ) -> list[dict[str, Any]]:
        """Repos published with zoo (the library tag `zoo`), best first by `sort` (the Hub's name: downloads, likes or
        lastModified), as the Hub describes them (id, downloads, likes, lastModified, pipeline_tag, cardData), each
        checked by type."""


def hub_location(hub: str | os.PathLike[str] | None) -> str | None:
    """The hub to use: the argument, else ZOO_HUB, else None (huggingface_hub's own endpoint, HF_ENDPOINT)."""
    value = hub if hub is not None else os.environ.get("ZOO_HUB") or None
    return None if value is None else str(value)


def open_hub(hub: str | os.PathLike[str] | None = None) -> Transport:
    """The hub `hub` names (or ZOO_HUB, or HF_ENDPOINT): a URL is a Hub endpoint, anything else a local folder."""
    location = hub_location(hub)
    if location is not None and not re.match(r"^https?://", location):
        from zoo.hub.local import LocalTransport

        return LocalTransport(location)
    from zoo.hub.remote import RemoteTransport

    return RemoteTransport(location)
