"""resnet-finetune: from the pretrained weights, a new head, a few steps on generated images, then publish."""

import json

import torch
from huggingface_hub import ModelCard
from safetensors.torch import load_file
from zoo_fixtures import write_image_folder

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (20, 40, 210)}
SMALL = ["--epochs", "1", "--batch-size", "6", "--set", "size=64"]


def test_finetune_and_publish(run_zoo, olah, timm_resnet18, tmp_path):
    data = write_image_folder(tmp_path / "colours", COLOURS, per_class=8)
    out = tmp_path / "run"
    proc = run_zoo(
        "train",
        "resnet18",
        "--dataset",
        "imagefolder",
        "--data-dir",
        str(data),
        *SMALL,
        "--set",
        "mix_prob=1.0",
        "--out",
        str(out),
        "--json",
        env={"HF_ENDPOINT": olah},
    )
    assert proc.returncode == 0, proc.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["recipe"] == "resnet-finetune" and config["base_model"] == "timm/resnet18.tv_in1k"
    assert config["model_args"] == {"num_classes": 3} and config["labels"] == ["blue", "green", "red"]
    assert config["preprocessing"]["mean"] == [0.485, 0.456, 0.406]
    weights = load_file(out / "model.safetensors")
    assert weights["fc.weight"].shape == (3, 512)
    base = timm_resnet18.state_dict()
    assert not torch.equal(weights["conv1.weight"], base["conv1.weight"])  # the backbone learned, at a lower lr
    predicted = json.loads(run_zoo("predict", str(out), str(data / "red" / "0.png"), "--json").stdout)
    assert {item["label"] for item in predicted[0]["output"]} == {"blue", "green", "red"}
    hub = tmp_path / "hub"
    published = run_zoo("publish", str(out), "me/colours-resnet18", "--hub", str(hub), "--json")
    assert published.returncode == 0, published.stderr
    pulled = json.loads(run_zoo("pull", "me/colours-resnet18", "--hub", str(hub), "--json").stdout)
    card = ModelCard.load(f"{pulled['path']}/README.md")
    assert card.data.base_model == "timm/resnet18.tv_in1k" and card.data.library_name == "zoo"


def test_frozen_backbone_keeps_the_pretrained_weights(run_zoo, olah, timm_resnet18, tmp_path):
    data = write_image_folder(tmp_path / "colours", COLOURS, per_class=4)
    out = tmp_path / "frozen"
    proc = run_zoo(
        "train",
        "resnet18",
        "--dataset",
        "imagefolder",
        "--data-dir",
        str(data),
        *SMALL,
        "--set",
        "freeze_backbone=true",
        "--out",
        str(out),
        env={"HF_ENDPOINT": olah},
    )
    assert proc.returncode == 0, proc.stderr
    weights, base = load_file(out / "model.safetensors"), timm_resnet18.state_dict()
    assert all(torch.equal(weights[k], base[k]) for k in base if k.endswith("weight") and not k.startswith("fc."))


def test_from_scratch_and_wrong_base(run_zoo, tmp_path):
    data = write_image_folder(tmp_path / "colours", COLOURS, per_class=4)
    proc = run_zoo(
        "train",
        "resnet18",
        "--dataset",
        "imagefolder",
        "--data-dir",
        str(data),
        *SMALL,
        "--set",
        "pretrained=false",
        "--out",
        str(tmp_path / "scratch"),
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    assert "base_model" not in json.loads((tmp_path / "scratch" / "config.json").read_text())
    wrong = run_zoo(
        "train",
        "resnet18",
        "--dataset",
        "imagefolder",
        "--data-dir",
        str(data),
        *SMALL,
        "--set",
        "base=resnet34.tv_in1k",
        "--out",
        str(tmp_path / "wrong"),
    )
    assert wrong.returncode == 2 and "are for resnet34, not resnet18" in wrong.stderr
