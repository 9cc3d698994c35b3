"""Child process of zoo.params: reads qualified model names as JSON on stdin, prints their counts as JSON."""

from __future__ import annotations

import json
import sys


def count(spec) -> int:
    import torch

    try:
        with torch.device("meta"):
            model = spec.build()
    except Exception:  # some factories cannot run on meta (they load data): build for real
        model = spec.build()
    return sum(p.numel() for p in model.parameters())


def main() -> None:
    from zoo.registry import Registry

    names = json.loads(sys.stdin.read())
    models = Registry.load().models
    result: dict[str, int | str] = {}
    for name in names:
        try:
            result[name] = count(models.get(name))
        except Exception as exc:
            result[name] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
