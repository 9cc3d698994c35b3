"""What training loggers cost: `zoo train cnn --dataset digits` with no logger, with `tensorboard`, with `mlflow`.

Rounds alternate between the set-ups; each reports the median over rounds of the training time of the epochs
(metrics.jsonl's train_seconds, so start-up and the run folder's writing are left out) and the whole run's wall time.
`--log-every 1` sends every optimizer step to the loggers, the worst case.
Run: .venv/bin/python bench/logger_overhead.py [--epochs 5] [--rounds 3] [--log-every 20]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

SETUPS = {"none": [], "tensorboard": ["tensorboard"], "mlflow": ["mlflow"]}


def one_run(loggers: list[str], epochs: int, log_every: int, work: Path) -> tuple[float, float]:
    """(training seconds of the epochs, wall seconds of the whole run) of one run in a fresh folder."""
    import zoo

    folder = Path(tempfile.mkdtemp(dir=work))
    with contextlib.chdir(folder):  # the mlflow logger's default store is ./mlflow.db
        started = time.perf_counter()
        zoo.train("cnn", dataset="digits", epochs=epochs, device="cpu", sets={"log_every": log_every},
                  out="run", quiet=True, loggers=loggers)  # fmt: skip
        wall = time.perf_counter() - started
        rows = [json.loads(line) for line in Path("run/metrics.jsonl").read_text().splitlines()]
    return sum(r["train_seconds"] for r in rows), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--log-every", type=int, default=20)
    args = parser.parse_args()
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in SETUPS}
    with tempfile.TemporaryDirectory() as tmp:
        one_run([], 1, args.log_every, Path(tmp))  # warm-up: imports, the digits cache
        for _ in range(args.rounds):
            for name, loggers in SETUPS.items():
                results[name].append(one_run(loggers, args.epochs, args.log_every, Path(tmp)))
    base_train = statistics.median(t for t, _ in results["none"])
    base_wall = statistics.median(w for _, w in results["none"])
    print(f"cnn on digits, {args.epochs} epochs, log_every={args.log_every}, median of {args.rounds} rounds")
    print(f"{'logger':<12} {'train s':>8} {'ratio':>6} {'wall s':>8} {'ratio':>6}")
    for name in SETUPS:
        train = statistics.median(t for t, _ in results[name])
        wall = statistics.median(w for _, w in results[name])
        print(f"{name:<12} {train:8.2f} {train / base_train:6.2f} {wall:8.2f} {wall / base_wall:6.2f}")


if __name__ == "__main__":
    main()
