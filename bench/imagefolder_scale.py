"""An ImageNet-style folder: `zoo train resnet18` on `imagefolder` against torchvision's ImageFolder + DataLoader.

The bench writes 20,000 JPEGs (100 classes, 200-500 px on a side, seeded) once, then runs one epoch of each side
in a fresh process, alternating, with the same model (resnet18, random init, 100 classes), 64 px inputs, batch 32,
AdamW, 2 DataLoader workers and the same transforms (bilinear resize to 64 x 64, 8 px padded random crop,
horizontal flip, normalisation; no MixUp/CutMix). It reports:
- time to first step: from the process's launch to the end of its first loss computation;
- images/s: the training steps after the first, timed between the first and last loss computations;
- peak memory: the largest sum of PSS over the process and its DataLoader workers (shared pages counted once).
Run: .venv/bin/python bench/imagefolder_scale.py [--images 20000] [--classes 100] [--folder .bench/images]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZE, BATCH, WORKERS = 64, 32, 2


def generate(folder: Path, images: int, classes: int, seed: int = 0) -> Path:
    """`images` JPEGs in `classes` class folders, each a smooth colour field of 200-500 px; reused when complete."""
    import numpy as np
    from PIL import Image

    done = folder / ".complete"
    if done.is_file() and done.read_text() == f"{images} {classes} {seed}":
        return folder
    rng = np.random.default_rng(seed)
    for i in range(images):
        label = i % classes
        w, h = (int(v) for v in rng.integers(200, 501, 2))
        base = np.array([label * 37 % 256, label * 91 % 256, label * 53 % 256], dtype=np.float32)
        small = np.clip(base + rng.normal(0, 40, (8, 8, 3)), 0, 255).astype(np.uint8)
        image = Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR)
        path = folder / f"class{label:03d}" / f"{i:06d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, quality=90)
    done.write_text(f"{images} {classes} {seed}")
    return folder


class Steps:
    """Wall-clock times of each loss computation, written as JSON when the process ends."""

    def __init__(self, out: Path) -> None:
        self.times: list[float] = []
        self.out = out

    def mark(self) -> None:
        self.times.append(time.time())

    def save(self, images: int) -> None:
        self.out.write_text(json.dumps({"times": self.times, "batch": BATCH, "images": images}))


def child_zoo(folder: str, out: str) -> None:
    from zoo_resnet.recipe import ResNetFinetune

    import zoo

    steps = Steps(Path(out) / "steps.json")
    loss = ResNetFinetune.loss

    def timed(self, model, batch):
        value = loss(self, model, batch)
        steps.mark()
        return value

    ResNetFinetune.loss = timed
    zoo.train(
        "resnet18",
        dataset="imagefolder",
        data_dir=folder,
        epochs=1,
        batch_size=BATCH,
        device="cpu",
        out=Path(out) / "run",
        quiet=True,
        sets={"size": str(SIZE), "pretrained": "false", "num_workers": str(WORKERS), "mix_prob": "0"},
    )
    steps.save(len(steps.times) * BATCH)


def child_torchvision(folder: str, out: str) -> None:
    import torch
    import torchvision
    from torchvision import transforms as T

    steps = Steps(Path(out) / "steps.json")
    transform = T.Compose(
        [
            T.Resize((SIZE, SIZE), interpolation=T.InterpolationMode.BILINEAR),
            T.RandomCrop(SIZE, padding=SIZE // 8),
            T.RandomHorizontalFlip(),
            T.ToTensor(),
            T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ]
    )
    full = torchvision.datasets.ImageFolder(folder, transform=transform)
    order = torch.randperm(len(full), generator=torch.Generator().manual_seed(0))
    train = torch.utils.data.Subset(full, order[round(len(full) * 0.2) :].tolist())  # zoo's 80/20 split
    loader = torch.utils.data.DataLoader(train, batch_size=BATCH, shuffle=True, num_workers=WORKERS)
    model = torchvision.models.resnet18(num_classes=len(full.classes))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    model.train()
    for images, labels in loader:
        loss = torch.nn.functional.cross_entropy(model(images), labels, label_smoothing=0.1)
        steps.mark()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    steps.save(len(train))


def tree_pss(pid: int) -> int:
    """Bytes of PSS of `pid` and all its descendants (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def run(kind: str, folder: Path, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    launched = time.time()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, str(folder), str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = [0]

    def watch() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_pss(proc.pid))
            time.sleep(0.25)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, err = proc.communicate()
    watcher.join()
    if proc.returncode:
        raise SystemExit(f"{kind} failed:\n{err[-3000:]}")
    steps = json.loads((out / "steps.json").read_text())
    times = steps["times"]
    return {
        "first_step": times[0] - launched,
        "images_per_s": (len(times) - 1) * BATCH / (times[-1] - times[0]),
        "peak_gb": peak[0] / 1024**3,
        "steps": len(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--folder", type=Path, default=ROOT / ".bench" / "images")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, folder, out = args.child
        {"zoo": child_zoo, "torchvision": child_torchvision}[kind](folder, out)
        return
    os.environ.setdefault("ZOO_CACHE_DIR", str(args.folder.parent / "zoo-cache"))
    folder = generate(args.folder / f"{args.images}x{args.classes}", args.images, args.classes)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        tv = run("torchvision", folder, Path(tmp) / "tv")
        z = run("zoo", folder, Path(tmp) / "zoo")
    print(f"{args.images:,} JPEGs, {args.classes} classes, resnet18 at {SIZE} px, batch {BATCH}, {WORKERS} workers")
    print(f"{'':12} {'first step s':>13} {'images/s':>9} {'peak GB':>8} {'steps':>6}")
    for name, r in (("torchvision", tv), ("zoo", z)):
        print(f"{name:12} {r['first_step']:13.1f} {r['images_per_s']:9.1f} {r['peak_gb']:8.2f} {r['steps']:6d}")
    print(f"{'zoo / tv':12} {z['first_step'] / tv['first_step']:13.2f} {z['images_per_s'] / tv['images_per_s']:9.2f}")


if __name__ == "__main__":
    main()
