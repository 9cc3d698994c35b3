"""Claim dispatch: which installed plugin loads a Hub repository saved by another library (see zoo.plugin.claims)."""

from __future__ import annotations

from dataclasses import replace

from zoo.core.errors import UsageError, ZooError, warn
from zoo.plugin.claims import Claim, ForeignRepo, found_in
from zoo.registry.merged import get_registry


def find_claim(repo: ForeignRepo) -> tuple[Claim | None, list[str]]:
    """The first plugin's claim on a foreign repo (in entry-point order), and the plugins asked; a claimer that
    raises or answers something else than a Claim is skipped with a warning."""
    asked = []
    for info, outcome in get_registry().plugin_set.call("claim_repo", repo=repo):
        asked.append(info.name)
        if isinstance(outcome, ZooError):  # the plugin recognises the repo and says why it cannot load it
            raise outcome
        if isinstance(outcome, Exception):  # a broken claimer must not hide the others
            warn(f"plugin '{info.name}' failed to look at {repo.repo_id}: {type(outcome).__name__}: {outcome}")
        elif isinstance(outcome, Claim):
            return replace(outcome, plugin=info.name), asked
        elif outcome is not None:
            warn(f"plugin '{info.name}' answered claim_repo with a {type(outcome).__name__}, not a Claim")
    return None, asked


def claim(repo: ForeignRepo) -> Claim:
    """The claim on a foreign repo; a UsageError naming what zoo found and which plugins it asked if none."""
    found, asked = find_claim(repo)
    if found is not None:
        return found
    config = "config.json says " + found_in(repo.config) if repo.config else "it has no config.json"
    raise UsageError(
        f"no plugin can load {repo.repo_id}: it is not a zoo repo and {config}. Asked plugins: "
        f"{', '.join(asked) or 'none'}. Install a plugin that claims it ('zoo plugins install NAME')."
    )
