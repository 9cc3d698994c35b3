"""Steady-state step time of zoo's engine against a minimal hand-written PyTorch loop, for every recipe.

Same model, batch size, in-memory data, threads and loss; runs alternate; the first epoch of each is a warm-up.
The hand-written loop reads batches through DataLoader(shuffle=True) with its default collation, as tutorials do;
the engine indexes in-memory tensors a batch at a time, so its step includes its own (faster) data path.
Recipes come from the installed plugins, plus the test suite's fixture plugin (installed into a temporary dir).
Run: .venv/bin/python bench/train_overhead.py [--epochs 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "plugins" / "zoo-tinyplug"


def in_memory(data, limit: int):
    """The first `limit` training samples as a list, so neither loop reads from disk."""
    from torch.utils.data import TensorDataset

    from zoo.plugin import Data

    source = data.val if data.val is not None else data.train
    n_val = min(max(1, limit // 10), len(source))
    if isinstance(data.train, TensorDataset) and isinstance(source, TensorDataset):  # keep tensors as tensors
        train = TensorDataset(*(t[:limit] for t in data.train.tensors))
        return Data(train=train, val=TensorDataset(*(t[:n_val] for t in source.tensors)), info=data.info)
    samples = [data.train[i] for i in range(min(limit, len(data.train)))]
    return Data(train=samples, val=[source[i] for i in range(n_val)], info=data.info, collate=data.collate)


def hand_loop(recipe, data, args, epochs: int) -> list[float]:
    """What one writes by hand: DataLoader, forward, loss, backward, step, zero_grad, scheduler."""
    import torch
    from torch.utils.data import DataLoader

    torch.manual_seed(recipe.config.seed)
    model = recipe.build_model(args)
    loader = DataLoader(data.train, batch_size=recipe.config.batch_size, shuffle=True, collate_fn=data.collate)
    optimizer, scheduler = recipe.configure_optimizers(model, len(loader))
    model.train()
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for batch in loader:
            loss = recipe.loss(model, batch)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if scheduler is not None:
                scheduler.step()
        times.append((time.perf_counter() - start) / len(loader))
    return times


def engine(recipe, data, out: Path) -> list[float]:
    """Seconds per step of each epoch through the engine (the recipe's config sets the epochs)."""
    from zoo.engine.trainer import RunInfo, Trainer

    recipe.build_data()  # lets the recipe read its preprocessing from the real data, as in training
    recipe.build_data = lambda: data  # then the same in-memory samples as the hand-written loop
    info = RunInfo(
        model=recipe.model_spec.name,
        recipe=recipe.recipe_spec.name,
        dataset=recipe.dataset_spec.name,
        plugin=recipe.model_spec.plugin,
        plugin_version=None,
        task=recipe.model_spec.task,
        overrides={},
    )
    Trainer(recipe, info, out, quiet=True).fit()
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [row["train_seconds"] / row["steps"] for row in rows]


def loadable(rspec, mspec, dspec, config):
    """The recipe's dataset, or, when it needs files this machine lacks, one of the same task that ships."""
    import zoo
    from zoo.core.errors import UsageError
    from zoo.jobs.train import make_recipe

    candidates = [dspec] + [d for d in zoo.get_registry().datasets_for(mspec) if d is not dspec]
    for candidate in candidates:
        recipe = make_recipe(rspec, mspec, candidate, config, None)
        try:
            return candidate, recipe.build_data()
        except UsageError:
            continue
    raise SystemExit(f"no dataset for {rspec.name} loads without files here")


def measure(
    recipe_name: str, epochs: int, rounds: int, samples: int, steps: int, work: Path
) -> tuple[float, float, str]:
    import zoo
    from zoo.jobs.train import make_recipe, resolve, settings
    from zoo.registry.merged import recipe_trains

    registry = zoo.get_registry()
    rspec = registry.recipes.get(recipe_name)
    # A recipe may name a pattern (resnet*): measure the first model it trains, shortest name first.
    models = sorted(
        (m for m in registry.models.by_qualified.values() if recipe_trains(rspec, m)),
        key=lambda m: (len(m.name), m.name),
    )
    mspec, rspec, dspec = resolve(models[0].qualified_name, rspec.qualified_name)
    sets = {"num_workers": "0", "checkpoint_every": "0"}
    if "pretrained" in rspec.cpu_defaults:  # same arithmetic from random weights; nothing to download here
        sets["pretrained"] = "false"
    config = settings(rspec, {"epochs": epochs, "device": "cpu"}, sets)
    dspec, full = loadable(rspec, mspec, dspec, config)
    data = in_memory(full, min(samples or steps * config.batch_size, steps * config.batch_size))
    args = make_recipe(rspec, mspec, dspec, config, None).model_args(data)
    hand_times, engine_times = [], []
    for r in range(rounds):
        hand_recipe = make_recipe(rspec, mspec, dspec, config, None)
        hand_recipe.build_data()  # the same preprocessing state as the engine's recipe
        hand_times += hand_loop(hand_recipe, data, args, epochs)[1:]
        out = work / f"{recipe_name.replace(':', '-')}-{r}"
        engine_times += engine(make_recipe(rspec, mspec, dspec, config, None), data, out)[1:]
    return statistics.median(engine_times), statistics.median(hand_times), dspec.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--samples",
        type=int,
        default=0,
        help="training samples held in memory per recipe (default: --steps batches' worth)",
    )
    parser.add_argument("--steps", type=int, default=32, help="at most this many steps per epoch")
    parser.add_argument("--recipes", default="*", help="fnmatch pattern on qualified recipe names")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zoo-bench-train-") as tmp:
        site = Path(tmp) / "site"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--no-index",
                "--no-build-isolation",
                "--target",
                str(site),
                str(FIXTURE),
            ],
            check=True,
        )
        sys.path.insert(0, str(site))
        import torch

        import zoo

        zoo.reload()
        names = sorted(
            r.qualified_name
            for r in zoo.get_registry().recipes.by_qualified.values()
            if fnmatch.fnmatchcase(r.qualified_name, args.recipes)
        )
        print(
            f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU, median step time over "
            f"{args.rounds} x {args.epochs - 1} steady epochs"
        )
        print(f"{'recipe':<26}{'data':<14}{'engine ms':>11}{'hand ms':>10}{'ratio':>8}{'target':>8}")
        for name in names:
            engine_s, hand_s, dataset = measure(name, args.epochs, args.rounds, args.samples, args.steps, Path(tmp))
            print(
                f"{name:<26}{dataset:<14}{engine_s * 1e3:>11.3f}{hand_s * 1e3:>10.3f}{engine_s / hand_s:>8.3f}"
                f"{'<= 1.05':>8}"
            )


if __name__ == "__main__":
    main()
