"""Child process of the `no-torch-on-import` check: `python -m zoo.testing.import_probe PLUGIN` loads the plugin's
entry point in a fresh interpreter and prints, as a JSON list, which of torch, torchvision, torchaudio it imported."""

from __future__ import annotations

import json
import sys
from importlib import metadata

HEAVY = ("torch", "torchvision", "torchaudio")


def main() -> None:
    [entry_point] = [e for e in metadata.entry_points(group="zoo") if e.name == sys.argv[1]]
    entry_point.load()
    print(json.dumps([m for m in HEAVY if m in sys.modules]))


if __name__ == "__main__":
    main()
