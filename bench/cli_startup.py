"""How fast `zoo list` starts, measured side by side in one run.

1. `zoo list --json` against `python -c "import timm; timm.list_models()"` and bare `python -c pass`.
2. `zoo list --json` with 200 generated plugins registering 50 models each (real distributions with entry
   points in a temporary site dir) against the built-in plugins alone.

Medians of interleaved runs, after one warm-up each (which also fills zoo's parameter-count cache).
Run: make bench   (or .venv/bin/python bench/cli_startup.py --runs 15)
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ZOO = str(Path(sys.executable).with_name("zoo"))


def write_generated_plugins(site: Path, plugins: int, models: int) -> None:
    """Real installed distributions: a package plus a .dist-info with METADATA and entry_points.txt."""
    for i in range(plugins):
        package = f"zoo_gen{i:03d}"
        (site / package).mkdir(parents=True)
        specs = "\n".join(
            f"    register(ModelSpec(name='gen{i:03d}_m{j:02d}', task='tabular-classification', "
            f"factory='torch.nn:Linear', kwargs={{'in_features': {j + 1}, 'out_features': 2}}))"
            for j in range(models)
        )
        (site / package / "__init__.py").write_text(
            "import zoo\nfrom zoo.plugin.specs import ModelSpec\n\n\n@zoo.hookimpl\ndef register_models(register):\n"
            + specs
            + "\n"
        )
        dist_info = site / f"zoo_gen{i:03d}-0.1.0.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: zoo-gen{i:03d}\nVersion: 0.1.0\n")
        (dist_info / "entry_points.txt").write_text(f"[zoo]\ngen{i:03d} = {package}\n")
    compileall.compile_dir(site, quiet=1)  # as pip does on install


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--plugins", type=int, default=200)
    parser.add_argument("--models", type=int, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("ZOO_", "PYTHONPATH"))}
        base["ZOO_CACHE_DIR"] = str(Path(tmp) / "cache")
        site = Path(tmp) / "site"
        write_generated_plugins(site, args.plugins, args.models)
        many = dict(base, PYTHONPATH=str(site))
        cases = {
            "python -c pass": ([sys.executable, "-c", "pass"], base),
            "timm.list_models()": ([sys.executable, "-c", "import timm; timm.list_models()"], base),
            "zoo list --json": ([ZOO, "list", "--json"], base),
            f"zoo list --json, +{args.plugins * args.models} models": ([ZOO, "list", "--json"], many),
        }
        for command, env in cases.values():  # warm-up: page cache, and zoo's parameter counts
            timed(command, env)
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, (command, env) in cases.items():
                times[name].append(timed(command, env))

    median = {name: statistics.median(values) for name, values in times.items()}
    zoo_t = median["zoo list --json"]
    many_name = f"zoo list --json, +{args.plugins * args.models} models"
    print(f"{'command':<40} {'median ms':>10}")
    for name, value in median.items():
        print(f"{name:<40} {value * 1000:>10.1f}")
    print()
    print(f"{'ratio':<58} {'value':>8} {'target':>8}")
    rows = [
        ("zoo list / timm.list_models()", zoo_t / median["timm.list_models()"], "<= 0.05"),
        ("zoo list / python -c pass", zoo_t / median["python -c pass"], "-"),
        (f"zoo list with {args.plugins} plugins x {args.models} models / built-ins", median[many_name] / zoo_t, "<= 5"),
    ]
    for name, value, target in rows:
        print(f"{name:<58} {value:>8.3f} {target:>8}")


if __name__ == "__main__":
    main()
