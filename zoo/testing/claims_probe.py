"""Child process of the `claims` check: `python -m zoo.testing.claims_probe PLUGIN PROBES_JSON` shows the plugin's
claim_repo each probe config.json and prints, as JSON, what it did wrong with them and which of torch, torchvision
and torchaudio it imported."""

from __future__ import annotations

import json
import sys

from zoo.core.errors import ZooError
from zoo.plugin.claims import Claim, ForeignRepo
from zoo.registry.merged import get_registry
from zoo.testing.import_probe import HEAVY


def problems(plugin: str, probes: list[dict]) -> list[str]:
    """What the plugin's claimer did with each probe that it must not: raise, answer a non-Claim, or claim it."""
    plugin_set = get_registry().plugin_set
    found = []
    for n, config in enumerate(probes):
        repo = ForeignRepo(f"probe/repo-{n}", "0" * 40, config, ("config.json",), lambda _path: None)
        for _, outcome in plugin_set.call("claim_repo", plugin=plugin, repo=repo):
            if isinstance(outcome, ZooError) or outcome is None:  # refused with a reason, or left alone
                continue
            if isinstance(outcome, Exception):
                found.append(f"raised {type(outcome).__name__}: {outcome} for config.json {json.dumps(config)}")
            elif not isinstance(outcome, Claim):
                found.append(f"returned a {type(outcome).__name__}, not a Claim or None")
            else:
                found.append(f"claimed config.json {json.dumps(config)}, which is not its to load")
    return found


def main() -> None:
    found = problems(sys.argv[1], json.loads(sys.argv[2]))
    print(json.dumps([found, [m for m in HEAVY if m in sys.modules]]))


if __name__ == "__main__":
    main()
