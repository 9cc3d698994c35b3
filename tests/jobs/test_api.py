"""The public API builds the real architectures, and the listed parameter counts are theirs."""

import pytest
import torch
import torchvision

import zoo


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_create_model_builds_real_architectures(isolated_registry):
    isolated_registry()
    cnn = zoo.create_model("cnn")
    assert cnn(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert _count(cnn) == 456 + 2416 + 48120 + 10164 + 850  # the tutorial net, layer by layer
    gray = zoo.create_model("cnn:cnn", num_classes=4, in_channels=1)
    assert gray(torch.zeros(1, 1, 32, 32)).shape == (1, 4)
    resnet = zoo.create_model("resnet18")
    assert type(resnet) is torchvision.models.ResNet
    assert _count(resnet) == _count(torchvision.models.resnet18())
    assert zoo.create_model("resnet18.tv_in1k", num_classes=7).fc.out_features == 7


def test_params_in_listing_equal_built_models(isolated_registry):
    isolated_registry()
    rows = {r["name"]: r for r in zoo.model_summaries()}
    for name in ("cnn", "resnet18", "resnet50", "mf", "ncf", "wav2vec2_base"):
        assert rows[name]["params"] == _count(zoo.create_model(name)), name
    assert rows["resnet18"]["pretrained"] == ["resnet18.tv_in1k"]


def test_create_model_rejects_unknown_names_and_bad_arguments(isolated_registry):
    isolated_registry()
    with pytest.raises(zoo.UsageError, match="unknown model 'resnet19'"):
        zoo.create_model("resnet19")
    with pytest.raises(ValueError, match="num_classes and in_channels must be positive, got 0 and 3"):
        zoo.create_model("cnn", num_classes=0)


def test_model_info_fields(isolated_registry):
    isolated_registry()
    info = zoo.model_info("wav2vec2_base")
    assert info["task"] == "automatic-speech-recognition"
    assert info["weights"][0] | {"metrics": None} == info["weights"][0] | {
        "name": "wav2vec2_base.960h",
        "source": "facebook/wav2vec2-base-960h",
        "revision": "main",
        "pinned": False,
        "license": "apache-2.0",
        "metrics": None,
    }
    plugins = {p["name"]: p for p in zoo.list_plugins()}
    assert plugins["recsys"]["models"] == ["mf", "ncf"]
    assert plugins["recsys"]["status"] == "ok"


def test_a_zoo_error_raised_in_a_dataloader_worker_keeps_its_one_line_message():
    import pytest
    from torch.utils.data import DataLoader, Dataset

    from zoo.core.errors import UsageError

    class Broken(Dataset):
        def __len__(self) -> int:
            return 2

        def __getitem__(self, index: int):
            raise UsageError("cannot read the audio file x.flac: lost sync")

    with pytest.raises(UsageError) as caught:
        next(iter(DataLoader(Broken(), num_workers=1)))
    assert str(caught.value) == "cannot read the audio file x.flac: lost sync" and caught.value.exit_code == 2
