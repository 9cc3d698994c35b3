"""GPU check: an image folder streamed into resnet18, decoded in DataLoader workers (decode=cpu) against whole
batches decoded on the GPU with nvJPEG (decode=device), through the image recipes' own data path.

Writes a folder of JPEGs (200-500 px, as bench/imagefolder_scale.py does), trains two epochs of each mode with
the engine (cache=none, so both decode every epoch) and prints the second epoch's images/s; then the largest
pixel difference between a batch decoded on the device and the CPU path's decode of the same files.
Run on a GPU machine: bash bench/gpu_check.sh   (a CPU smoke test: --device cpu --images 24 --size 32 --batch 8)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
import torchvision
from gpu_timing import steady_epoch
from imagefolder_scale import generate
from zoo_images.classify import IMAGE_OPTIONS, ImageClassificationRecipe
from zoo_images.common import load_image
from zoo_images.decode import decode_batch, read_bytes

from zoo.engine.settings import build_config
from zoo.engine.trainer import RunInfo, Trainer
from zoo.plugin.specs import DatasetSpec, ModelSpec


class FolderClassifier(ImageClassificationRecipe):
    def model_args(self, data):
        return {"num_classes": len(data.info["labels"])}


def engine_run(args: argparse.Namespace, folder: Path, decode: str, out: Path) -> float:
    model_spec = ModelSpec(
        name="resnet18", task="image-classification", factory=torchvision.models.resnet18, plugin="bench"
    )
    data_spec = DatasetSpec(name="imagefolder", task="image-classification", factory="zoo_images.imagefolder:load")
    options = {**IMAGE_OPTIONS, "size": args.size, "cache": "none", "decode": decode, "val_split": 0.1}
    config = build_config(
        {**options, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "num_workers": args.workers},
        {"epochs": 2, "batch_size": args.batch, "device": args.device, "precision": args.precision},
        {"deterministic": "false", "checkpoint_every": "0", "log_every": "1000000"},
    )
    recipe = FolderClassifier(config, model_spec=model_spec, dataset_spec=data_spec, data_dir=folder)
    info = RunInfo("resnet18", "gpu-imagefolder", "imagefolder", "bench", None, "image-classification", {})
    Trainer(recipe, info, out, quiet=True).fit()
    steady = steady_epoch(out)
    return steady["steps"] * args.batch / steady["train_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precision", default="bf16", choices=("bf16", "fp32"))
    args = parser.parse_args()
    name = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    with tempfile.TemporaryDirectory() as tmp:
        folder = generate(Path(tmp) / "images", args.images, min(args.classes, args.images))
        print(
            f"{args.images} JPEGs (200-500 px) -> resnet18 at {args.size} px, batch {args.batch}, "
            f"{args.workers} workers, {args.precision} on {name}"
        )
        print(f"{'':<28}{'images/s':>12}")
        speeds = {}
        for decode in ("cpu", "device"):
            speeds[decode] = engine_run(args, folder, decode, Path(tmp) / f"run-{decode}")
            print(f"{'resnet18 decode=' + decode:<28}{speeds[decode]:>12.0f}")
        print(f"{'device / cpu':<28}{speeds['device'] / speeds['cpu']:>12.3f}")
        paths = sorted(str(p) for p in folder.rglob("*.jpg"))[:32]
        on_device = decode_batch([read_bytes(p) for p in paths], args.size, args.device).cpu()
        on_cpu = torch.stack([load_image(p, args.size) for p in paths])
        diff = (on_device.int() - on_cpu.int()).abs()
        print(f"device decode against the CPU path: max {diff.max().item()} levels, mean {diff.float().mean():.3f}")


if __name__ == "__main__":
    main()
