"""Training from a Hub dataset repo of parquet files against the same images in a local folder, and the start of a
1M-row image set.

1. Images/s of `zoo train cnn` (one epoch, 32 px, batch 64, 2 DataLoader workers, random init) on a CIFAR-10-shaped
   repo (`--data-dir hf://datasets/bench/cifar`, PNG bytes in an Image column, a ClassLabel) against the same PNGs
   as an image folder (`--dataset imagefolder --data-dir FOLDER --set cache=none`: decoded per batch too). Both sides
   run in fresh processes, alternating, `--rounds` times; the repo is pulled (verified) before the timed runs.
2. A 1M-row image set already pulled: seconds and peak memory (PSS of the process and its workers, shared pages
   counted once) from the launch of `zoo train cnn` to the end of its first loss computation.
The repos live in a local hub folder (zoo's `--hub PATH`), written by the `datasets` library's parquet writer for
part 1 and by pyarrow with the same schema metadata for part 2 (1M rows cycling through 512 distinct 8 px PNGs).
Run: .venv/bin/python bench/hub_dataset.py [--images 10000] [--rows 1000000] [--rounds 2] [--folder .bench/hub]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from imagefolder_scale import tree_pss  # this folder is on sys.path when a bench runs

ROOT = Path(__file__).resolve().parents[1]
BATCH, WORKERS, SIZE, CLASSES = 64, 2, 32, 10
NAMES = [f"class{i}" for i in range(CLASSES)]


def pngs(count: int, side: int, seed: int = 0) -> list[bytes]:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        base = np.array([i % CLASSES * 25, 255 - i % CLASSES * 25, 128], dtype=np.float32)
        pixels = np.clip(base + rng.normal(0, 30, (side, side, 3)), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


def card(split_paths: dict[str, str]) -> bytes:
    files = "".join(f"  - split: {s}\n    path: {p}\n" for s, p in split_paths.items())
    names = "".join(f"          '{i}': {n}\n" for i, n in enumerate(NAMES))
    return (
        f"---\nconfigs:\n- config_name: default\n  data_files:\n{files}dataset_info:\n  features:\n"
        "  - name: img\n    dtype: image\n  - name: label\n    dtype:\n      class_label:\n"
        f"        names:\n{names}---\n"
    ).encode()


def commit(hub: Path, repo: str, files: dict[str, Path | bytes]) -> None:
    from zoo.hub.local_git import LocalHub

    local = LocalHub(hub, "datasets")
    if not local.exists(repo):
        local.create_repo(repo)
        local.commit(repo, files, "data")


def cifar_repo(work: Path, images: int) -> tuple[Path, Path]:
    """(hub folder, image folder): the same 32 px PNGs as a parquet repo and as train/ and val/ class folders."""
    import datasets

    hub, folder = work / "hub", work / f"folder-{images}"
    done = work / f".cifar-{images}"
    if done.is_file():
        return hub, folder
    data = pngs(images, SIZE)
    labels = [i % CLASSES for i in range(images)]
    cut = images * 5 // 6
    features = datasets.Features({"img": datasets.Image(), "label": datasets.ClassLabel(names=NAMES)})
    files: dict[str, Path | bytes] = {}
    for split, rows in (("train", range(cut)), ("test", range(cut, images))):
        table = datasets.Dataset.from_dict(
            {"img": [{"bytes": data[i], "path": f"{i}.png"} for i in rows], "label": [labels[i] for i in rows]},
            features=features,
        )
        path = work / f"cifar-{split}.parquet"
        table.to_parquet(str(path), batch_size=1000)
        files[f"plain_text/{split}-00000-of-00001.parquet"] = path
        for i in rows:
            image = folder / ("train" if split == "train" else "val") / NAMES[labels[i]] / f"{i:06d}.png"
            image.parent.mkdir(parents=True, exist_ok=True)
            image.write_bytes(data[i])
    files["README.md"] = card({"train": "plain_text/train-*", "test": "plain_text/test-*"})
    commit(hub, f"bench/cifar-{images}", files)
    done.write_text("ok")
    return hub, folder


def million_repo(work: Path, rows: int) -> Path:
    """A repo of `rows` 8 px images in 10 parquet files of 1,000-row groups; written once."""
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    hub = work / "hub"
    done = work / f".million-{rows}"
    if done.is_file():
        return hub
    distinct = pngs(512, 8, seed=1)
    features = datasets.Features({"img": datasets.Image(), "label": datasets.ClassLabel(names=NAMES)})
    sample = work / "schema.parquet"
    one = {"img": [{"bytes": distinct[0], "path": None}], "label": [0]}
    datasets.Dataset.from_dict(one, features=features).to_parquet(str(sample))
    schema = pq.read_schema(sample)  # the `datasets` library's schema, with its `huggingface` metadata
    files: dict[str, Path | bytes] = {}
    per_file = rows // 10
    for part in range(10):
        path = work / f"million-{part}.parquet"
        with pq.ParquetWriter(path, schema) as writer:
            for start in range(part * per_file, (part + 1) * per_file, 10_000):
                ids = range(start, min(start + 10_000, (part + 1) * per_file))
                images = [{"bytes": distinct[i % 512], "path": None} for i in ids]
                table = pa.Table.from_pydict({"img": images, "label": [i % CLASSES for i in ids]}, schema=schema)
                writer.write_table(table, row_group_size=1000)
        files[f"data/train-{part:05d}-of-00010.parquet"] = path
    files["README.md"] = card({"train": "data/train-*"})
    commit(hub, f"bench/million-{rows}", files)
    done.write_text("ok")
    return hub


def child(data_dir: str, dataset: str, hub: str, out: str, size: str) -> None:
    """One epoch of cnn, recording the time of each loss computation (the first one ends the start)."""
    from zoo_cnn.recipe import CNNRecipe

    import zoo

    times: list[float] = []
    loss = CNNRecipe.loss

    def timed(self, model, batch):
        value = loss(self, model, batch)
        times.append(time.time())
        if os.environ.get("BENCH_FIRST_STEP_ONLY"):
            Path(out, "steps.json").write_text(json.dumps(times))
            os._exit(0)
        return value

    CNNRecipe.loss = timed
    sets = {"num_workers": str(WORKERS), "size": size, "scheduler": "none"}
    if dataset == "imagefolder" and not data_dir.startswith("hf://"):
        sets["cache"] = "none"
    zoo.train("cnn", dataset=dataset, data_dir=data_dir, epochs=1, batch_size=BATCH, device="cpu",
              out=Path(out) / "run", quiet=True, sets=sets, hub=hub or None)  # fmt: skip
    Path(out, "steps.json").write_text(json.dumps(times))


def run(data_dir: str, dataset: str, hub: str, size: int, first_only: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, **({"BENCH_FIRST_STEP_ONLY": "1"} if first_only else {})}
        launched = time.time()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", data_dir, dataset, hub, out, str(size)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        peak = [0]

        def watch() -> None:
            while proc.poll() is None:
                peak[0] = max(peak[0], tree_pss(proc.pid))
                time.sleep(0.1)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, err = proc.communicate()
        watcher.join()
        if proc.returncode:
            raise SystemExit(f"{data_dir} failed:\n{err[-3000:]}")
        times = json.loads(Path(out, "steps.json").read_text())
    rate = (len(times) - 1) * BATCH / (times[-1] - times[0]) if len(times) > 1 else float("nan")
    return {"first_step": times[0] - launched, "images_per_s": rate, "peak_gb": peak[0] / 1024**3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--folder", type=Path, default=ROOT / ".bench" / "hub")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    args.folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ZOO_CACHE_DIR", str(args.folder / "zoo-cache"))
    hub, folder = cifar_repo(args.folder, args.images)
    import zoo.hub.datasets as hub_datasets

    uri = f"hf://datasets/bench/cifar-{args.images}"
    hub_datasets.pull_dataset(f"bench/cifar-{args.images}", hub=hub)  # pulled and verified before timing
    parquet, local = [], []
    for _ in range(args.rounds):
        local.append(run(str(folder), "imagefolder", "", SIZE))
        parquet.append(run(uri, "imagefolder", str(hub), SIZE))
    best = {name: max(r["images_per_s"] for r in runs) for name, runs in (("folder", local), ("hub", parquet))}
    print(f"1. cnn, {args.images:,} PNGs of {SIZE} px, batch {BATCH}, {WORKERS} workers, {args.rounds} rounds each")
    print(f"{'':22} {'images/s (best)':>16} {'all rounds':>24}")
    for name, key, runs in (("local image folder", "folder", local), ("hf://datasets parquet", "hub", parquet)):
        rounds = ", ".join(f"{r['images_per_s']:.1f}" for r in runs)
        print(f"{name:22} {best[key]:16.1f} {rounds:>24}")
    print(f"{'hub / folder':22} {best['hub'] / best['folder']:16.2f}   (goal >= 0.95)")
    million = million_repo(args.folder, args.rows)
    hub_datasets.pull_dataset(f"bench/million-{args.rows}", hub=million)
    start = run(f"hf://datasets/bench/million-{args.rows}", "imagefolder", str(million), SIZE, first_only=True)
    print(f"2. {args.rows:,}-row image set, already pulled: first step after {start['first_step']:.1f} s "
          f"(goal < 10 s), peak {start['peak_gb']:.2f} GB (goal < 2 GB)")  # fmt: skip


if __name__ == "__main__":
    main()
