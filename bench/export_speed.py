"""CPU speed of what `zoo export` ships against eager PyTorch: resnet18 (224x224) and wav2vec2_base, side by side.

For each model: latency at batch 1 (median ms per call) and throughput at batch 32 (samples/s, from the median
call), through eager PyTorch, the torch.export program (.pt2, read back with torch.export.load) and the ONNX file
(onnxruntime, CPUExecutionProvider), each made and read back by zoo's own code (zoo.jobs.export, zoo.jobs.artifacts)
from the recipe's example inputs, traced at batch 7 with every axis dynamic as `zoo export` does. The weights are a
random init (nothing is downloaded): the values do not change the speed. wav2vec2 takes 1 s of 16 kHz audio per
sample. The runtimes take turns, call by call, for about --budget seconds each (at least 3 calls), so a loaded
machine's drift hits all three alike.
About 7 minutes on a loaded 2-core machine, most of it wav2vec2's exports and its batches of 32.
Run: .venv/bin/python bench/export_speed.py [--budget 4] [--threads N] [--models resnet18,wav2vec2_base]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

import zoo
from zoo.jobs import artifacts
from zoo.jobs.export import _to_onnx, _to_pt2, example_inputs
from zoo.jobs.train import make_recipe, resolve, settings
from zoo.plugin import first_output

RUNTIMES = ("eager", "pt2", "onnx")
#: the recipe's preprocessing for each model, so its example inputs have the bench's shapes
PREPROCESSING = {
    "resnet18": {"size": 224, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
    "wav2vec2_base": {"sample_rate": 16_000, "normalize": True},
}


def no_data() -> Any:
    raise OSError("the bench reads no dataset")


def recipe_and_model(name: str) -> tuple[Any, torch.nn.Module]:
    mspec, rspec, dspec = resolve(name)
    recipe = make_recipe(rspec, mspec, dspec, settings(rspec, {"device": "cpu"}, {}), None)
    recipe.run_config = {"recipe": rspec.name, "model": name, "preprocessing": PREPROCESSING[name]}
    recipe.build_data = no_data  # so the example inputs are the plugin's own, not a dataset's
    torch.manual_seed(0)
    return recipe, zoo.create_model(name).eval()


def runtimes(recipe: Any, model: torch.nn.Module, name: str) -> tuple[dict[str, Callable[..., Any]], dict[str, float]]:
    """eager, pt2 and onnx callables, and how long each export took (s)."""
    traced = example_inputs(recipe, 7)  # as zoo export traces: batch 7, every axis dynamic
    ways: dict[str, Callable[..., Any]] = {"eager": torch.no_grad()(model)}
    took = {}
    for fmt, to in (("pt2", _to_pt2), ("onnx", _to_onnx)):
        start = time.perf_counter()
        data = to(model, traced, name, None)
        ways[fmt] = artifacts.load(data, fmt, f"{name}.{fmt}")
        took[fmt] = time.perf_counter() - start
    return ways, took


def interleaved(ways: dict[str, Callable[..., Any]], inputs: tuple[Any, ...], budget: float) -> dict[str, list[float]]:
    """Seconds per call of each runtime, taking turns (so drift on a shared machine hits all alike), after one
    warm-up call each, until each has had about `budget` seconds (at least 3 calls each)."""
    for way in ways.values():
        way(*inputs)
    times: dict[str, list[float]] = {name: [] for name in ways}
    while any(len(t) < 3 or sum(t) < budget for t in times.values()):
        for name, way in ways.items():
            start = time.perf_counter()
            way(*inputs)
            times[name].append(time.perf_counter() - start)
    return times


def bench(name: str, budget: float) -> dict[str, Any]:
    recipe, model = recipe_and_model(name)
    ways, took = runtimes(recipe, model, name)
    one, many = example_inputs(recipe, 1).tensors, example_inputs(recipe, 32).tensors
    row: dict[str, Any] = {"model": name, "input": list(one[0].shape[1:]), "export_s": took}
    with torch.no_grad():
        reference = first_output(model(*one))
    for runtime, way in ways.items():  # a check that each computes what the model does (wav2vec2: logits, lengths)
        row[f"{runtime}_max_abs"] = float((first_output(way(*one)) - reference).abs().max())
    for runtime, times in interleaved(ways, one, budget).items():
        row[f"{runtime}_b1_ms"] = 1000 * statistics.median(times)
    for runtime, times in interleaved(ways, many, budget).items():
        row[f"{runtime}_b32_per_s"] = 32 / statistics.median(times)
    return row


def table(rows: list[dict[str, Any]]) -> str:
    head = f"{'model':<14}{'runtime':<8}{'b1 ms':>9}{'x eager':>9}{'b32 /s':>9}{'x eager':>9}{'export s':>10}"
    lines = [head, "-" * len(head)]
    for row in rows:
        for runtime in RUNTIMES:
            ms, rate = row[f"{runtime}_b1_ms"], row[f"{runtime}_b32_per_s"]
            lines.append(
                f"{row['model']:<14}{runtime:<8}{ms:>9.1f}{row['eager_b1_ms'] / ms:>9.2f}{rate:>9.1f}"
                f"{rate / row['eager_b32_per_s']:>9.2f}{took(row, runtime):>10}"
            )
    return "\n".join(lines)


def took(row: dict[str, Any], runtime: str) -> str:
    return f"{row['export_s'][runtime]:.1f}" if runtime in row["export_s"] else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=4.0, help="seconds per measurement (after a warm-up call)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--models", default="resnet18,wav2vec2_base", help="comma-separated: resnet18,wav2vec2_base")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [bench(name, args.budget) for name in args.models.split(",")]
    print(table(rows))
    print("x eager: the speed-up over eager (b1: eager ms / ms; b32: samples/s / eager samples/s)")
    print(json.dumps({"threads": torch.get_num_threads(), "budget_s": args.budget, "rows": rows}))


if __name__ == "__main__":
    main()
