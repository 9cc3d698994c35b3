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
    [weights] = info["weights"]
    assert weights["name"] == "resnet50.tv_in1k"
    assert weights["source"] == "timm/resnet50.tv_in1k"
    assert weights["metrics"] == {"imagenet-1k/acc@1": 76.13, "imagenet-1k/acc@5": 92.862}
