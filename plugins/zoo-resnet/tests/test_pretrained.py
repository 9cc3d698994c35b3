"""resnet with pretrained weights from the (test) Hub: ImageNet predictions with the weights' preprocessing."""

import json

import pytest
import torch
import torchvision
from PIL import Image
from safetensors.torch import save_file
from zoo_fixtures import assert_clean_error
from zoo_resnet.recipe import imagenet_categories

import zoo
from zoo.hub.local_git import LocalHub


@pytest.fixture
def photo(tmp_path):
    pixels = (torch.rand(300, 400, 3) * 255).to(torch.uint8).numpy()
    path = tmp_path / "photo.jpg"
    Image.fromarray(pixels).save(path, quality=90)
    return path


def test_info_shows_weights_metrics_pin_state_and_preprocessing(run_zoo):
    info = json.loads(run_zoo("info", "resnet18", "--json").stdout)
    [weights] = info["weights"]
    assert weights["name"] == "resnet18.tv_in1k" and weights["pinned"] is False
    assert weights["metrics"] == {"imagenet-1k/acc@1": 69.758, "imagenet-1k/acc@5": 89.078}
    assert weights["params"] == 11_689_512 == torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["num_params"]
    assert weights["preprocessing"] == {
        "resize": 256,
        "crop": 224,
        "interpolation": "bilinear",
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
    }
    assert info["recipes"] == ["resnet-finetune"]
    for depth in (34, 50, 101, 152):
        metrics = zoo.model_info(f"resnet{depth}")["weights"][0]["metrics"]
        meta = getattr(torchvision.models, f"ResNet{depth}_Weights").IMAGENET1K_V1.meta["_metrics"]["ImageNet-1K"]
        assert metrics == {"imagenet-1k/acc@1": meta["acc@1"], "imagenet-1k/acc@5": meta["acc@5"]}


def test_predict_prints_five_imagenet_classes(run_zoo, olah, timm_resnet18, photo):
    # torchvision is the reference, on the CPU: pinned, so that a GPU box (TF32) compares the same arithmetic
    proc = run_zoo("predict", "resnet18", str(photo), "--json", "--device", "cpu", env={"HF_ENDPOINT": olah})
    assert proc.returncode == 0, proc.stderr
    [row] = json.loads(proc.stdout)
    categories = set(imagenet_categories())
    assert len(row["output"]) == 5 and all(item["label"] in categories for item in row["output"])
    # The same as torchvision's own eval transform applied to the same tensors:
    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    with torch.no_grad():
        expected = torch.softmax(timm_resnet18(weights.transforms()(Image.open(photo))[None]), 1)[0]
    top = expected.topk(5)
    assert [item["label"] for item in row["output"]] == [weights.meta["categories"][i] for i in top.indices]
    assert [item["score"] for item in row["output"]] == pytest.approx(top.values.tolist(), abs=2e-3)
    human = run_zoo("predict", "resnet18", str(photo), "--device", "cpu", env={"HF_ENDPOINT": olah})
    assert row["output"][0]["label"] in human.stdout


@pytest.mark.usefixtures("timm_resnet18")
def test_grey_and_cmyk_photos_are_converted_and_truncated_jpegs_refused(run_zoo, olah, tmp_path):
    grey, cmyk, cut = tmp_path / "grey.png", tmp_path / "cmyk.jpg", tmp_path / "cut.jpg"
    Image.new("L", (120, 90), 128).save(grey)
    Image.new("RGB", (90, 120), (10, 200, 30)).convert("CMYK").save(cmyk)
    Image.new("RGB", (200, 200), (1, 2, 3)).save(cut)
    cut.write_bytes(cut.read_bytes()[:300])
    proc = run_zoo("predict", "resnet18", str(grey), str(cmyk), "--top", "3", "--json", env={"HF_ENDPOINT": olah})
    assert proc.returncode == 0, proc.stderr
    assert [len(r["output"]) for r in json.loads(proc.stdout)] == [3, 3]
    assert_clean_error(
        run_zoo("predict", "resnet18", str(cut), env={"HF_ENDPOINT": olah}), 1, "cannot read the image", "cut.jpg"
    )


def test_weights_of_another_architecture_name_the_keys(run_zoo, hub_root, tmp_path, photo):
    torch.manual_seed(0)
    state = torchvision.models.resnet34().state_dict()
    save_file(state, tmp_path / "model.safetensors")
    LocalHub(hub_root).create_repo("wrong/resnet34-as-18")
    LocalHub(hub_root).commit("wrong/resnet34-as-18", {"model.safetensors": tmp_path / "model.safetensors"}, "oops")
    registry = tmp_path / "registry.toml"
    registry.write_text(
        '[weights."resnet18.wrong"]\nmodel = "resnet18"\nsource = "wrong/resnet34-as-18"\nrevision = "main"\n'
    )
    proc = run_zoo("predict", "resnet18.wrong", str(photo), "--hub", str(hub_root), env={"ZOO_REGISTRY": str(registry)})
    assert_clean_error(proc, 1, "the weights do not fit resnet:resnet18", "unexpected keys layer1.2.")
