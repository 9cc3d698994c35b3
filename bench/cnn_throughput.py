"""`zoo train cnn` (CPU defaults) against PyTorch's classic CIFAR-10 tutorial loop, side by side in one run.

1. Throughput (images/s) on in-memory CIFAR-shaped data (random uint8 images, 10 classes).
2. The validation accuracy each reaches on scikit-learn's digits in the same wall time: zoo's full recipe run,
   then the tutorial loop for as long as zoo took.
The tutorial loop: per-sample ToTensor+Normalize, DataLoader(batch_size=4, shuffle=True, num_workers=2),
CrossEntropyLoss, SGD(lr=0.001, momentum=0.9).
Run: .venv/bin/python bench/cnn_throughput.py
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

import zoo
from zoo.engine.trainer import RunInfo, Trainer
from zoo.jobs.train import make_recipe, resolve, settings
from zoo.plugin import Data


class TutorialImages(Dataset):
    """What the tutorial's transform does per sample: uint8 -> float in [0, 1] -> Normalize((.5,)*3, (.5,)*3)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int):
        return (self.images[i].float() / 255 - 0.5) / 0.5, int(self.labels[i])


def tutorial_loop(images, labels, seconds: float | None = None, max_images: int | None = None):
    """Train like the tutorial; stop after `seconds` or `max_images`; return (model, images seen, seconds)."""
    torch.manual_seed(0)
    net = zoo.create_model("cnn", num_classes=10)
    loader = DataLoader(
        TutorialImages(images, labels), batch_size=4, shuffle=True, num_workers=2, persistent_workers=True
    )
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    seen, start = 0, time.perf_counter()
    while True:
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss = criterion(net(inputs), targets)
            loss.backward()
            optimizer.step()
            seen += len(targets)
            elapsed = time.perf_counter() - start
            if (seconds is not None and elapsed >= seconds) or (max_images is not None and seen >= max_images):
                return net, seen, elapsed


def zoo_run(data: Data | None, dataset: str, out: Path, epochs: int | None = None):
    """The cnn recipe with its CPU defaults, through the engine; `data` replaces the adapter's when given."""
    mspec, rspec, dspec = resolve("cnn", None, dataset)
    config = settings(rspec, {"device": "cpu", "epochs": epochs}, {})
    recipe = make_recipe(rspec, mspec, dspec, config, None)
    if data is not None:
        recipe.build_data = lambda: recipe.prepare(data)
    info = RunInfo("cnn", rspec.name, dataset, "cnn", None, "image-classification", {})
    start = time.perf_counter()
    result = Trainer(recipe, info, out, quiet=True).fit()
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    return result, rows, time.perf_counter() - start, config.batch_size


def accuracy(net, images, labels) -> float:
    net.eval()
    with torch.no_grad():
        logits = net((images.float() / 255 - 0.5) / 0.5)
    return (logits.argmax(1) == labels).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000, help="in-memory CIFAR-shaped training images")
    args = parser.parse_args()
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (args.images, 3, 32, 32), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (args.images,), generator=g)
    fake = Data(
        TensorDataset(images, labels),
        TensorDataset(images[:512], labels[:512]),
        info={
            "labels": [str(i) for i in range(10)],
            "preprocessing": {"size": 32, "mean": [0.5] * 3, "std": [0.5] * 3},
        },
    )
    with tempfile.TemporaryDirectory() as tmp:
        tutorial_loop(images, labels, max_images=2_000)  # warm-up
        _, seen, seconds = tutorial_loop(images, labels, max_images=args.images)
        tutorial_rate = seen / seconds
        _, rows, _, batch = zoo_run(fake, "cifar10", Path(tmp) / "fake", epochs=3)
        steady = rows[1:]
        zoo_rate = sum(r["steps"] for r in steady) * batch / sum(r["train_seconds"] for r in steady)

        result, rows, zoo_seconds, _ = zoo_run(None, "digits", Path(tmp) / "digits")
        digits = zoo.get_registry().datasets.get("digits").build(size=32)
        x_train, y_train = digits.train.tensors
        x_val, y_val = digits.val.tensors
        net, _, _ = tutorial_loop(x_train, y_train, seconds=zoo_seconds)
        tutorial_acc = accuracy(net, x_val, y_val)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'':<34}{'images/s':>10}{'digits acc':>12}")
    print(f"{'tutorial loop (batch 4)':<34}{tutorial_rate:>10.0f}{tutorial_acc:>12.4f}")
    print(f"{f'zoo train cnn (batch {batch})':<34}{zoo_rate:>10.0f}{result['metrics']['accuracy']:>12.4f}")
    print(f"\nthroughput ratio zoo / tutorial: {zoo_rate / tutorial_rate:.2f} (target >= 7)")
    print(f"digits: both trained {zoo_seconds:.1f} s of wall time (zoo's whole run, evaluation included)")


if __name__ == "__main__":
    main()
