"""Pull: a catalog name or repo id resolved to a target, its files fetched from the hub and every one verified:
against the catalog's sha256 pin when there is one, else against the hash the Hub reports (sha256 for LFS files,
the git blob id for regular ones). A bad file leaves the cache.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zoo.core.paths import check_branch, check_repo_id, check_repo_path
from zoo.hub.integrity import VerifiedRecords, matches, verify
from zoo.hub.selection import is_metadata
from zoo.hub.transport import Fetched, PulledFile, Target, open_hub
from zoo.plugin.claims import Claim, ForeignRepo
from zoo.registry.claims import claim
from zoo.registry.merged import get_registry
from zoo.store.run_folder import is_zoo_config, read_config_json


@dataclass
class PullResult:
    name: str | None
    repo_id: str
    revision: str
    path: Path
    files: list[PulledFile]
    config: dict[str, Any] | None = None
    #: every file the repository holds at that revision (pulled or not)
    listed: list[str] = field(default_factory=list)
    #: how a plugin loads it, for a repo saved by another library that no catalog entry names
    claim: Claim | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "repo_id": self.repo_id,
            "revision": self.revision,
            "path": str(self.path),
            "files": [asdict(f) for f in self.files],
        }


def resolve_target(name_or_repo: str, revision: str | None = None) -> Target:
    """A catalog name (`arch.tag`, or a bare arch for its default weights) or a repo id `org/name[@rev]`."""
    if "/" in name_or_repo:
        repo_id, _, at = name_or_repo.partition("@")
        return Target(repo_id=check_repo_id(repo_id), revision=check_branch(revision or at or "main", "revision"))
    entry = get_registry().weights_entry(name_or_repo)
    pinned = revision is None or revision == entry.revision
    return Target(
        repo_id=entry.source,
        revision=revision or entry.revision,
        name=entry.name,
        pins=dict(entry.files) if pinned else {},
    )


def _verify_all(fetched: Fetched) -> list[PulledFile]:
    records = VerifiedRecords()
    try:
        out = []
        for path in sorted(fetched.expected):
            local, expected = fetched.folder / path, fetched.expected[path]
            streamed = fetched.hashed.get(path)
            if streamed is not None and matches(streamed, expected):
                records.add(local, streamed, expected)  # hashed as it arrived: verify() need not read it again
            digests = verify(local, path, expected, records, fetched.sizes.get(path))
            out.append(PulledFile(path=path, sha256=digests.sha256, size=digests.size))
        return out
    finally:
        records.save()


def fetch(
    target: Target,
    hub: str | os.PathLike[str] | None,
    offline: bool,
    allow_pickle: bool,
    want: Callable[[str], bool] = lambda _path: True,
) -> tuple[Fetched, list[PulledFile]]:
    """Bring a target's files (those `want` keeps) into the cache from its hub, and verify every one."""
    fetched = open_hub(hub).fetch(target, offline, allow_pickle, want)
    return fetched, _verify_all(fetched)


def foreign_repo(result: PullResult) -> ForeignRepo:
    """A pulled repo as a plugin's claim_repo sees it."""
    folder = result.path

    def reader(path: str) -> Path | None:
        local = folder / check_repo_path(path)
        return local if local.is_file() else None

    config = result.config if isinstance(result.config, dict) else {}
    return ForeignRepo(result.repo_id, result.revision, config, tuple(result.listed), reader)


def download(
    name_or_repo: str,
    revision: str | None = None,
    hub: str | os.PathLike[str] | None = None,
    offline: bool = False,
    allow_pickle: bool = False,
    metadata_only: bool = False,
) -> PullResult:
    """Pull a catalog name or repo id, verify every file, and describe what landed where.

    A repo id that zoo did not publish must be claimed by a plugin (see zoo.registry.claims). `metadata_only` pulls the
    small files that describe a repo (config.json and the like), not its weights.
    """
    target = resolve_target(name_or_repo, revision)
    fetched, files = fetch(target, hub, offline, allow_pickle, is_metadata if metadata_only else lambda _p: True)
    result = PullResult(
        name=target.name,
        repo_id=target.repo_id,
        revision=fetched.commit,
        path=fetched.folder,
        files=files,
        config=read_config_json(fetched.folder),
        listed=fetched.listed,
    )
    if target.name is None and not is_zoo_config(result.config):
        result.claim = claim(foreign_repo(result))
    return result


def pull(
    name_or_repo: str,
    revision: str | None = None,
    hub: str | os.PathLike[str] | None = None,
    offline: bool = False,
    allow_pickle: bool = False,
) -> Path:
    """Pull verified weights into the cache and return the local folder (`zoo pull`)."""
    return download(name_or_repo, revision, hub, offline, allow_pickle).path
