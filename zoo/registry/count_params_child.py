"""Child process of zoo.registry.param_counts: reads [qualified name, kwargs] pairs as JSON on stdin, prints
their counts (or why not) as a JSON list in the same order."""

from __future__ import annotations

import json
import sys


def count(spec, kwargs: dict) -> int:
    import torch

    try:
        with torch.device("meta"):
            model = spec.build(**kwargs)
    except Exception:  # some factories cannot run on meta (they load data): build for real
        model = spec.build(**kwargs)
    return sum(p.numel() for p in model.parameters())


def main() -> None:
    from zoo.registry.merged import Registry

    wanted = json.loads(sys.stdin.read())
    models = Registry.load().models
    result: list[int | str] = []
    for name, kwargs in wanted:
        try:
            result.append(count(models.get(name), kwargs))
        except Exception as exc:
            result.append(f"{type(exc).__name__}: {exc}".splitlines()[0])
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
