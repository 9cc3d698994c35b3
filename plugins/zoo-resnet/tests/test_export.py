"""zoo export of resnet18-152 (the real architectures, at 32x32 and four classes: CI's time) and of a timm ResNet
claimed from the Hub, with weights at a trained model's scale (batch-norm statistics calibrated on images). Each
export passes the parity gate, and onnxruntime / torch.export.load, run directly on the written file, reproduce the
eager logits at a batch size the export was not traced with."""

import json

import onnxruntime
import pytest
import timm
import torch
from zoo_fixtures import write_run
from zoo_images.classify import example_images
from zoo_images.common import IMAGENET_MEAN, IMAGENET_STD

from zoo.hub.local_git import LocalHub
from zoo.jobs.export import export
from zoo.store.weights import save

SIZE, CLASSES = 32, 4
PREPROCESSING = {"resize": SIZE, "crop": SIZE, "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
FORMATS = {depth: ("onnx", "pt2") for depth in (18, 34, 50, 101, 152)}


def normalized(images: torch.Tensor, pre: dict) -> torch.Tensor:
    mean, std = torch.tensor(pre["mean"]).view(1, 3, 1, 1), torch.tensor(pre["std"]).view(1, 3, 1, 1)
    return (images.float() / 255 - mean) / std


def calibrated(model: torch.nn.Module, pre: dict, size: int) -> torch.nn.Module:
    """Weights shaped as training leaves them, not as a random init: batch-norm running statistics measured on
    images (train mode, cumulative averages), each residual block's last batch-norm scale small (a trained ResNet
    adds little per block: a random one grows its logits to 4e4 through 152 layers, past float32's precision), and
    the classifier scaled so the logits reach about 5."""
    images = normalized(example_images(32, (size, size), seed=1), pre)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.reset_running_stats()
                module.momentum = None
            if hasattr(module, "downsample") and hasattr(module, "bn2"):  # torchvision's and timm's residual blocks
                getattr(module, "bn3", module.bn2).weight.mul_(0.1)
        model.train()
        model(images)
        model.eval()
        head = model.get_classifier() if hasattr(model, "get_classifier") else model.fc
        scale = 5 / model(images).abs().max()
        head.weight.mul_(scale)
        head.bias.mul_(scale)
    return model


def resnet_run(folder, depth: int):
    """A resnet-finetune run folder of resnet`depth` with calibrated weights; returns the model."""
    model = calibrated(write_run(folder, f"resnet{depth}", dataset="imagefolder", num_classes=CLASSES), PREPROCESSING,
                       SIZE)  # fmt: skip
    save(model, folder / "model.safetensors")
    config = json.loads((folder / "config.json").read_text())
    config.update(recipe="resnet-finetune", preprocessing=PREPROCESSING, labels=[f"c{i}" for i in range(CLASSES)])
    (folder / "config.json").write_text(json.dumps(config))
    return model


def fresh_images(count: int, size: int, pre: dict) -> torch.Tensor:
    """Images the gate never saw (another seed), at a batch size it did not check."""
    return normalized(example_images(count, (size, size), seed=99), pre)


def run_file(path: str, fmt: str, images: torch.Tensor) -> torch.Tensor:
    """The written file run by its own runtime, without zoo: onnxruntime, or torch.export.load."""
    if fmt == "onnx":
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        [name] = [i.name for i in session.get_inputs()]
        return torch.from_numpy(session.run(None, {name: images.numpy()})[0])
    return torch.export.load(path).module()(images)


def check_export(result: dict, model: torch.nn.Module, fmt: str, images: torch.Tensor) -> None:
    parity = result["parity"]
    assert parity["passed"] and parity["agreement"]["value"] == 1.0, parity
    assert parity["agreement"]["name"] == "top-1" and parity["samples"] == 8
    assert parity["max_abs"] <= 1e-4 + 1e-4 * parity["max_eager"]
    with torch.no_grad():
        eager = model(images)
    # a trained model's scale (a random resnet152 reaches 4e4): the gate's relative figures mean something
    assert 0.1 < eager.abs().max() < 100, eager.abs().max()
    torch.testing.assert_close(run_file(result["path"], fmt, images), eager, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("depth", list(FORMATS))
def test_every_resnet_depth_exports_and_passes_the_gate(tmp_path, depth):
    model = resnet_run(tmp_path / "run", depth)
    images = fresh_images(5, SIZE, PREPROCESSING)
    for fmt in FORMATS[depth]:
        result = export(str(tmp_path / "run"), fmt)
        assert result["path"] == str(tmp_path / "run" / f"model.{fmt}")
        assert result["parity"]["source"] == "images zoo_images draws"
        check_export(result, model, fmt, images)


@pytest.fixture(scope="module")
def timm_resnet(hub_root, tmp_path_factory):
    """A timm ResNet as timm saves it (save_for_hf), at 64x64 with calibrated statistics, in the Hub as timm/<name>."""
    torch.manual_seed(18)
    model = timm.create_model("resnet18", pretrained=False, num_classes=10)
    pre = {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    calibrated(model, pre, 64)
    folder = tmp_path_factory.mktemp("timm-resnet18")
    timm.models.save_for_hf(
        model, folder, model_config={"pretrained_cfg": {"input_size": [3, 64, 64], "crop_pct": 1.0}},
        safe_serialization=True,
    )  # fmt: skip
    config = json.loads((folder / "config.json").read_text())
    local = LocalHub(hub_root)
    local.create_repo("timm/resnet18.export_test")
    local.commit("timm/resnet18.export_test", {p.name: p for p in folder.iterdir()}, "timm resnet18")
    return model, config


@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_a_timm_resnet_claimed_from_the_hub_exports(olah, timm_resnet, tmp_path, monkeypatch, fmt):
    model, config = timm_resnet
    monkeypatch.chdir(tmp_path)
    result = export("timm/resnet18.export_test", fmt, hub=olah)
    assert result["path"] == f"resnet18.export_test.{fmt}" and (tmp_path / result["path"]).is_file()
    pre = {"mean": config["pretrained_cfg"]["mean"], "std": config["pretrained_cfg"]["std"]}
    check_export(result, model, fmt, fresh_images(3, 64, pre))
