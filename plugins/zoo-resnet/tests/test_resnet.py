import pytest
import torch
import torchvision
from zoo_resnet import DEPTHS
from zoo_resnet.models import build

import zoo


@pytest.mark.parametrize("depth", DEPTHS)
def test_same_architecture_as_torchvision(depth):
    with torch.device("meta"):
        ours = zoo.create_model(f"resnet{depth}")
        reference = getattr(torchvision.models, f"resnet{depth}")()
    assert type(ours) is type(reference)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in reference.state_dict().items()}


def test_forward_and_head_size():
    model = build("resnet18", num_classes=5).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 64, 64)).shape == (2, 5)
    with pytest.raises(ValueError, match="num_classes must be positive"):
        build("resnet18", num_classes=0)


def test_catalog_lists_torchvision_weights():
    info = zoo.model_info("resnet50")
    assert info["plugin"] == "resnet"
    weights, *better = info["weights"]
    assert weights["name"] == "resnet50.tv_in1k" and weights["default"]
    assert weights["source"] == "timm/resnet50.tv_in1k"
    assert weights["metrics"] == {"imagenet-1k/acc@1": 76.13, "imagenet-1k/acc@5": 92.862}
    assert [w["name"] for w in better] == ["resnet50.tv2_in1k", "resnet50.a1_in1k"]


def test_catalog_tv2_weights_are_torchvisions_imagenet1k_v2():
    """The metrics and the eval transform that torchvision publishes for IMAGENET1K_V2, field for field."""
    import torchvision

    v2 = torchvision.models.ResNet50_Weights.IMAGENET1K_V2
    [tv2] = [w for w in zoo.model_info("resnet50")["weights"] if w["name"] == "resnet50.tv2_in1k"]
    published = v2.meta["_metrics"]["ImageNet-1K"]
    assert tv2["metrics"] == {"imagenet-1k/acc@1": published["acc@1"], "imagenet-1k/acc@5": published["acc@5"]}
    transform = v2.transforms()
    pre = tv2["preprocessing"]
    assert [pre["resize"]] == transform.resize_size and [pre["crop"]] == transform.crop_size
    assert pre["interpolation"] == transform.interpolation.value
    assert pre["mean"] == list(transform.mean) and pre["std"] == list(transform.std)


def test_catalog_a1_weights_carry_timms_test_time_preprocessing():
    """resnet50.a1_in1k's accuracy (81.22) is timm's at its test_input_size and test_crop_pct: the catalog says so."""
    import timm

    cfg = timm.models.get_pretrained_cfg("resnet50.a1_in1k").to_dict()
    [a1] = [w for w in zoo.model_info("resnet50")["weights"] if w["name"] == "resnet50.a1_in1k"]
    assert a1["preprocessing"] == {
        "input_size": list(cfg["test_input_size"]),
        "crop_pct": cfg["test_crop_pct"],
        "crop_mode": cfg["crop_mode"],
        "interpolation": cfg["interpolation"],
        "mean": list(cfg["mean"]),
        "std": list(cfg["std"]),
    }
    assert a1["source"] == f"timm/{cfg['architecture']}.{cfg['tag']}"
