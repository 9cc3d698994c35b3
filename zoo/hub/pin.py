"""`zoo pin`: resolve a catalog entry's branch to a commit and record each file's sha256 in its catalog file."""

from __future__ import annotations

import os
from pathlib import Path

from zoo.core.errors import UsageError
from zoo.hub.pull import PullResult, fetch
from zoo.hub.transport import Target
from zoo.registry.catalog_writer import entry_table, upsert_entry
from zoo.registry.merged import get_registry


def pin(
    name: str, registry: str | os.PathLike[str] | None = None, hub: str | os.PathLike[str] | None = None
) -> tuple[Path, PullResult]:
    """Resolve a catalog entry's branch to a commit and record each file's sha256 in its catalog file."""
    entry = get_registry().weights_entry(name)
    if registry is None and "(plugin " in entry.origin:
        raise UsageError(
            f"'{entry.name}' comes from a plugin's catalog ({entry.origin}): pass --registry FILE "
            "to pin it into a catalog file of yours."
        )
    path = Path(registry or entry.origin)
    # Re-pinning checks the files against the Hub's own hashes, not the old pins.
    branch_target = Target(repo_id=entry.source, revision=entry.revision, name=entry.name)
    fetched, files = fetch(branch_target, hub, offline=False, allow_pickle=False)
    result = PullResult(
        name=entry.name, repo_id=entry.source, revision=fetched.commit, path=fetched.folder, files=files
    )
    table = entry_table(
        model=entry.model,
        source=entry.source,
        revision=fetched.commit,
        task=entry.task,
        license=entry.license,
        description=entry.description or None,
        default=entry.default or None,
        files={f.path: f"sha256:{f.sha256}" for f in files},
        metrics=dict(entry.metrics),
        preprocessing=dict(entry.preprocessing),
    )
    return upsert_entry(path, entry.name, table), result
