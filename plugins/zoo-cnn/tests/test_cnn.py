import pytest
import torch
from zoo_cnn.models import TutorialNet

import zoo


def test_tutorial_net_shapes_and_parameter_count():
    net = TutorialNet()
    assert net(torch.randn(4, 3, 32, 32)).shape == (4, 10)
    # conv1 3*6*25+6, conv2 6*16*25+16, fc1 400*120+120, fc2 120*84+84, fc3 84*10+10
    assert sum(p.numel() for p in net.parameters()) == 456 + 2416 + 48120 + 10164 + 850


def test_channels_and_classes_are_arguments():
    net = TutorialNet(num_classes=3, in_channels=1)
    assert net(torch.randn(2, 1, 32, 32)).shape == (2, 3)
    with pytest.raises(ValueError, match="must be positive"):
        TutorialNet(in_channels=0)


def test_registered_through_the_entry_point():
    info = zoo.model_info("cnn")
    assert (info["plugin"], info["task"], info["params"]) == ("cnn", "image-classification", 62006)
    assert isinstance(zoo.create_model("cnn"), TutorialNet)
