"""GPU check: resnet18 training and resnet50 fine-tuning throughput on synthetic ImageNet-shaped batches, bf16
autocast, channels_last, 200 timed steps each.

zoo's engine against a hand-written loop in the style of torchvision's reference scripts, with the same settings;
prints images/s and peak GPU memory. (Fine-tuning runs the same arithmetic as training from scratch: the
weights' values do not change the speed, so both start from random weights and nothing is downloaded.)
The images live on the device (a bank of random ones, indexed by the batch), so neither side pays for input.
Run on a GPU machine: bash bench/gpu_check.sh   (a CPU smoke test: --device cpu --steps 2 --batch 2 --size 32)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from gpu_timing import Indices, hand_seconds, peak_bytes, reset_peak, steady_epoch

from zoo.engine.settings import build_config
from zoo.engine.trainer import RunInfo, Trainer
from zoo.plugin import Data, Recipe
from zoo.plugin.specs import DatasetSpec, ModelSpec


class SyntheticImageNet(Recipe):
    """Each sample is an index; the image and label come from a bank of random tensors on the device."""

    convolutional = True

    def build_data(self) -> Data:
        steps, batch = self.options["steps"], self.config.batch_size
        return Data(train=Indices(steps * batch), val=Indices(batch), info={"labels": list(range(1000))})

    def bank(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if not hasattr(self, "_bank"):
            size, k = self.options["size"], self.options["bank"]
            g = torch.Generator(device=device).manual_seed(0)
            images = torch.randn(k, 3, size, size, device=device, generator=g)
            self._bank = (
                images.contiguous(memory_format=torch.channels_last),
                torch.randint(0, 1000, (k,), device=device, generator=g),
            )
        return self._bank

    def to_device(self, batch, device):
        images, labels = self.bank(device)
        index = batch.to(device, non_blocking=True) % len(labels)
        return images[index], labels[index]

    def loss(self, model, batch):
        images, labels = batch
        return F.cross_entropy(model(images), labels)

    def metrics(self, model, batch):
        images, labels = batch
        return {"accuracy": ((model(images).argmax(1) == labels).sum().item(), len(labels))}


def engine_run(args: argparse.Namespace, arch: str, batch: int, out: Path) -> tuple[float, int]:
    model_spec = ModelSpec(
        name=arch, task="image-classification", factory=getattr(torchvision.models, arch), plugin="bench"
    )
    data_spec = DatasetSpec(name="synthetic-imagenet", task="image-classification", factory=lambda: None)
    options = {"steps": args.steps, "size": args.size, "bank": args.bank}
    config = build_config(
        {**options, "optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "num_workers": 0},
        {"epochs": 2, "batch_size": batch, "device": args.device, "precision": args.precision},
        {"deterministic": "false", "checkpoint_every": "0", "log_every": "1000000"},
    )
    recipe = SyntheticImageNet(config, model_spec=model_spec, dataset_spec=data_spec, data_dir=None)
    info = RunInfo(arch, "gpu-check", "synthetic-imagenet", "bench", None, "image-classification", {})
    reset_peak()
    Trainer(recipe, info, out, quiet=True).fit()
    steady = steady_epoch(out)
    return steady["steps"] * batch / steady["train_seconds"], peak_bytes()


def hand_run(args: argparse.Namespace, arch: str, batch: int) -> tuple[float, int]:
    device = torch.device(args.device if args.device != "auto" else "cuda")
    torch.backends.cudnn.benchmark = True
    model = getattr(torchvision.models, arch)().to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    g = torch.Generator(device=device).manual_seed(0)
    images = torch.randn(args.bank, 3, args.size, args.size, device=device, generator=g)
    images = images.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, 1000, (args.bank,), device=device, generator=g)
    dtype = {"bf16": torch.bfloat16, "fp32": None, "auto": torch.bfloat16}[args.precision]
    reset_peak()

    def steps(n: int) -> None:
        for i in range(n):
            index = torch.arange(i * batch, (i + 1) * batch, device=device) % args.bank
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                loss = F.cross_entropy(model(images[index]), labels[index])
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

    model.train()
    return args.steps * batch / hand_seconds(steps, args.steps, device), peak_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--arch", default="resnet18:256,resnet50:128", help="ARCH:BATCH pairs, comma-separated")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--bank", type=int, default=1024, help="distinct random images kept on the device")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precision", default="bf16", choices=("bf16", "fp32"))
    args = parser.parse_args()
    name = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    print(
        f"3x{args.size}x{args.size} synthetic images, {args.precision}, channels_last, {args.steps} timed steps "
        f"on {name} (torch {torch.__version__})"
    )
    print(f"{'':<22}{'images/s':>12}{'peak GiB':>10}{'engine/hand':>13}")
    for pair in args.arch.split(","):
        arch, batch = pair.split(":")
        with tempfile.TemporaryDirectory() as tmp:
            hand, hand_peak = hand_run(args, arch, int(batch))
            engine, engine_peak = engine_run(args, arch, int(batch), Path(tmp) / "run")
        print(f"{arch + ' hand loop':<22}{hand:>12.0f}{hand_peak / 2**30:>10.2f}")
        print(f"{arch + ' zoo engine':<22}{engine:>12.0f}{engine_peak / 2**30:>10.2f}{engine / hand:>13.3f}")


if __name__ == "__main__":
    main()
