"""Ratings at MovieLens-25M scale: zoo's `ratings-csv` load and split against pandas (pyarrow engine), then `mf`.

For each size the bench writes a MovieLens-shaped ratings.csv (userId,movieId,rating,timestamp; seeded, power-law
item popularity, unique (user, item) pairs), then times, each in a fresh process as a user waits for it:
- zoo: build the `ratings-csv` dataset by name through zoo's registry, as `zoo train` does before its first step
  (torch import, read, id factorisation, de-duplication, seeded 80/20 split, per-user seen items, popularity);
- pandas: read_csv(engine="pyarrow"), factorize both ids, the same seeded 80/20 split, per-user seen items;
and reports the ratio of the median wall times of alternating runs and of the largest peak RSS (each child's
own ru_maxrss). Then one epoch of `zoo train mf`
with dense (Adam) and sparse (SparseAdam) embeddings: ratings/s, peak RSS and the run's config.json size; and how
long `zoo predict RUN --user ID` takes once the model is loaded.
Run: .venv/bin/python bench/recsys_scale.py [--sizes 1M,10M,25M] [--epoch-sizes 1M,10M,25M] [--dense-sizes 1M,10M]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZOO = Path(sys.executable).with_name("zoo")
COLUMNS = "user=userId,item=movieId,rating=rating,timestamp=timestamp"  # ratings.csv's names
# MovieLens-25M's shape: 162,541 users and 59,047 movies for 25,000,095 ratings.
USERS_PER_RATING, ITEMS_PER_RATING = 162_541 / 25_000_095, 59_047 / 25_000_095


def parse_size(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 10**3, "M": 10**6}.get(text[-1], 1)
    return int(float(text.rstrip("KM")) * scale)


def generate(path: Path, rows: int, seed: int = 0) -> Path:
    """A MovieLens-shaped ratings.csv of `rows` unique (user, item) pairs; reused when already written."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if path.is_file():
        return path
    rng = np.random.default_rng(seed)
    users, items = max(2, round(rows * USERS_PER_RATING)), max(2, round(rows * ITEMS_PER_RATING))
    keys = np.empty(0, dtype=np.int64)
    while len(keys) < rows:  # draw, drop repeated pairs, draw again for what is missing
        n = int((rows - len(keys)) * 1.3) + 1000
        user = np.minimum((rng.pareto(1.2, n) * users / 20).astype(np.int64), users - 1)  # a few heavy raters
        item = np.minimum((rng.pareto(0.9, n) * items / 50).astype(np.int64), items - 1)  # power-law popularity
        keys = np.unique(np.concatenate([keys, user * items + item]))
    keys = rng.permutation(keys)[:rows]
    table = pa.table(
        {
            "userId": keys // items + 1,
            "movieId": keys % items + 1,
            "rating": rng.integers(1, 11, rows) / 2,
            "timestamp": rng.integers(789_652_009, 1_574_327_703, rows),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with pa.OSFile(str(tmp), "wb") as sink:
        sink.write(b"userId,movieId,rating,timestamp\n")  # MovieLens's header, unquoted
        pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False, quoting_style="none"))
    tmp.rename(path)
    return path


def child_zoo(path: str) -> dict:
    from zoo.registry.merged import get_registry

    data = (
        get_registry()
        .datasets.get("ratings-csv")
        .build(data_dir=path, split="random", val_split=0.2, seed=0, columns=COLUMNS)
    )
    return {"train": len(data.train), "val": len(data.val), "users": data.info["num_users"]}


def child_pandas(path: str) -> dict:
    import numpy as np
    import pandas as pd

    frame = pd.read_csv(path, engine="pyarrow")
    users, user_ids = pd.factorize(frame["userId"])
    items, _ = pd.factorize(frame["movieId"])
    order = np.random.default_rng(0).permutation(len(frame))
    cut = round(len(frame) * 0.2)
    train = order[cut:]
    seen_order = np.argsort(users[train], kind="stable")
    bounds = np.cumsum(np.bincount(users[train], minlength=len(user_ids)))[:-1]
    seen = np.split(items[train][seen_order], bounds)
    return {"train": len(train), "val": cut, "users": len(seen)}


def child_predict(run: str, user: str) -> dict:
    from zoo.jobs.inference import load_for_inference

    recipe, model, config = load_for_inference(run, device="cpu")
    import torch

    start = time.perf_counter()
    with torch.no_grad():
        first = recipe.predict(model, [user], 10, config)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    with torch.no_grad():
        recipe.predict(model, [user], 10, config)
    return {"first": cold, "again": time.perf_counter() - start, "items": len(first[0])}


def measure(args: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in GB, stdout) of a fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{err[-3000:]}")
    rss = json.loads(out.strip().splitlines()[-1])["maxrss_kb"] / 1024**2
    return seconds, rss, out


def fresh(*args: str) -> list[str]:
    """A child that runs `args` and prints its own peak RSS last (RUSAGE_CHILDREN of a one-child wrapper)."""
    code = (
        "import json, resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:])\n"
        "if p.returncode: sys.exit(p.returncode)\n"
        "print(json.dumps({'maxrss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n"
    )
    return [sys.executable, "-c", code, *args]


def epoch(path: Path, sparse: bool, out: Path) -> dict:
    seconds, rss, _ = measure(
        fresh(
            str(ZOO), "train", "mf", "--dataset", "ratings-csv", "--data-dir", str(path), "--epochs", "1",
            "--set", f"sparse={str(sparse).lower()}", "--set", f"columns={COLUMNS}", "--device", "cpu",
            "--out", str(out), "--json", "--quiet",
        )
    )  # fmt: skip
    row = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    config = json.loads((out / "config.json").read_text())
    return {
        "ratings_per_s": config["train_ratings"] / row["train_seconds"],
        "train_seconds": row["train_seconds"],
        "wall": seconds,
        "rss": rss,
        "config_kb": (out / "config.json").stat().st_size / 1024,
        "index_mb": (out / "data" / "index.safetensors").stat().st_size / 1024**2,
        "rmse": row.get("rmse"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1M,10M,25M")
    parser.add_argument("--epoch-sizes", default="1M,10M,25M")
    parser.add_argument("--dense-sizes", default="1M,10M", help="sizes that also time dense Adam (slow at 25M)")
    parser.add_argument("--rounds", type=int, default=3, help="load-and-split runs per side; the median is shown")
    parser.add_argument("--folder", type=Path, default=ROOT / ".bench" / "recsys")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        print(json.dumps({"zoo": child_zoo, "pandas": child_pandas, "predict": child_predict}[kind](*rest)))
        return
    me = [sys.executable, __file__, "--child"]
    print(f"{'rows':>6} {'zoo s':>7} {'pandas s':>9} {'time x':>7} {'zoo GB':>7} {'pandas GB':>10} {'RSS x':>6}")
    for size in args.sizes.split(","):
        path = generate(args.folder / f"ratings-{size}.csv", parse_size(size))
        runs = {"zoo": [], "pandas": []}
        for _ in range(args.rounds):  # alternating, so a slow spell of the machine hits both sides
            for side in runs:
                runs[side].append(measure(fresh(*me, side, str(path))))
        (z, zr, zout), (p, pr, pout) = (min(runs[side], key=lambda r: r[0]) for side in ("zoo", "pandas"))
        z, p = (statistics.median(r[0] for r in runs[side]) for side in ("zoo", "pandas"))
        zr, pr = (max(r[1] for r in runs[side]) for side in ("zoo", "pandas"))
        assert json.loads(zout.splitlines()[-2])["train"] == json.loads(pout.splitlines()[-2])["train"]
        print(f"{size:>6} {z:7.1f} {p:9.1f} {z / p:7.2f} {zr:7.2f} {pr:10.2f} {zr / pr:6.2f}", flush=True)
    print()
    heads = ("optimizer", "ratings/s", "epoch s", "peak GB", "config KB", "index MB")
    print(f"{'rows':>6} " + " ".join(f"{h:>10}" for h in heads))
    with tempfile.TemporaryDirectory() as tmp:
        for size in filter(None, args.epoch_sizes.split(",")):
            path = generate(args.folder / f"ratings-{size}.csv", parse_size(size))
            for sparse in (True, False) if size in args.dense_sizes.split(",") else (True,):
                out = Path(tmp) / f"{size}-{sparse}"
                r = epoch(path, sparse, out)
                name = "SparseAdam" if sparse else "Adam"
                print(
                    f"{size:>6} {name:>10} {r['ratings_per_s']:10,.0f} {r['train_seconds']:10.1f} {r['rss']:10.2f} "
                    f"{r['config_kb']:10.1f} {r['index_mb']:10.1f}",
                    flush=True,
                )
            _, _, out_text = measure(fresh(*me, "predict", str(out), "1"))
            timing = json.loads(out_text.splitlines()[-2])
            print(
                f"{size:>6} zoo predict --user 1 after the model loads: {timing['first']:.3f} s first, "
                f"{timing['again']:.3f} s again",
                flush=True,
            )


if __name__ == "__main__":
    main()
