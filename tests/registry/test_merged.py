"""The merged registry: lookups, filters, clashes, catalogs from plugins and ZOO_REGISTRY."""

from pathlib import Path

import pytest

import zoo
from zoo.core.errors import UnknownNameError, UsageError, ZooWarning


def test_list_models_filters(isolated_registry):
    isolated_registry()
    assert zoo.list_models("resnet*") == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]  # as timm
    assert zoo.list_models(task="recommendation") == ["mf", "ncf"]
    assert zoo.list_models(plugin="wav2vec") == [
        "wav2vec2_base",
        "wav2vec2_ctc",
        "wav2vec2_large",
        "wav2vec2_tiny",
        "wavlm_ctc",
    ]
    assert zoo.list_models(pretrained=True) == [
        "resnet18",
        "resnet34",
        "resnet50",
        "resnet101",
        "resnet152",
        "wav2vec2_base",
    ]
    assert "cnn" in zoo.list_models(pretrained=False)
    assert "resnet18" not in zoo.list_models(pretrained=False)
    assert zoo.list_models("resnet:resnet1?") == ["resnet18"]
    assert zoo.list_models("nothing*") == []


def test_lookup_by_short_qualified_and_weights_name(isolated_registry):
    registry = isolated_registry()
    spec = registry.model("resnet18")
    assert registry.model("resnet:resnet18") is spec
    assert registry.model("resnet18.tv_in1k") is spec
    assert registry.weights_entry("resnet18").name == "resnet18.tv_in1k"
    assert registry.weights_entry("wav2vec2_base").name == "wav2vec2_base.960h"


def test_unknown_names_suggest_close_ones(isolated_registry):
    registry = isolated_registry()
    with pytest.raises(UnknownNameError, match="Did you mean 'resnet18'"):
        registry.model("resnt18")
    with pytest.raises(UnknownNameError, match=r"unknown weights 'resnet18.tv_in22k'. Did you mean 'resnet18.tv_in1k'"):
        registry.model("resnet18.tv_in22k")
    with pytest.raises(UsageError, match="no pretrained weights"):
        registry.weights_entry("cnn")


def test_clash_names_both_plugins_and_keeps_qualified_names(isolated_registry, plugin_sites, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_sites("zoo-clash")))
    with pytest.warns(ZooWarning, match="registered by plugins"):
        registry = isolated_registry()
    with pytest.raises(UsageError, match=r"'cnn' is registered by plugins '(cnn|clash)' and '(cnn|clash)'"):
        registry.model("cnn")
    assert registry.model("cnn:cnn").factory == "zoo_cnn.models:TutorialNet"
    assert registry.model("clash:cnn").description == "Another plugin's 'cnn'"
    assert {"cnn:cnn", "clash:cnn"} <= set(zoo.list_models("*cnn"))


def test_plugin_catalog_and_dataset_recipe_links(isolated_registry, plugin_sites, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_sites("zoo-tinyplug")))
    isolated_registry()
    info = zoo.model_info("tiny_mlp")
    assert info["plugin"] == "tiny"
    assert info["recipes"] == ["tiny-fit"]
    assert info["datasets"] == ["tiny-digits"]
    assert [w["name"] for w in info["weights"]] == ["tiny_mlp.demo"]
    assert info["weights"][0]["metrics"] == {"accuracy": 0.9}
    assert info["params"] == 4 * 8 + 8 + 8 * 3 + 3


def test_zoo_registry_overrides_entry_by_entry_with_a_warning(isolated_registry, tmp_path: Path, monkeypatch):
    extra = tmp_path / "team.toml"
    extra.write_text(
        '[weights."resnet18.tv_in1k"]\nmodel = "resnet18"\nsource = "ourteam/resnet18"\n'
        'revision = "' + "c" * 40 + '"\n\n[weights."cnn.digits"]\nmodel = "cnn"\n'
        'source = "ourteam/cnn-digits"\nrevision = "main"\n'
    )
    monkeypatch.setenv("ZOO_REGISTRY", str(extra))
    with pytest.warns(ZooWarning, match="overrides the one from"):
        registry = isolated_registry()
    assert registry.weights_entry("resnet18").source == "ourteam/resnet18"
    assert registry.weights_entry("cnn").name == "cnn.digits"
    assert registry.weights_entry("resnet34").source == "timm/resnet34.tv_in1k"  # untouched entries stay


def test_catalog_entry_for_unknown_model_is_skipped_with_a_warning(isolated_registry, tmp_path, monkeypatch):
    extra = tmp_path / "typo.toml"
    extra.write_text('[weights."resnet81.x"]\nmodel = "resnet81"\nsource = "a/b"\nrevision = "main"\n')
    monkeypatch.setenv("ZOO_REGISTRY", str(extra))
    with pytest.warns(ZooWarning, match=r"'resnet81.x'.*Did you mean 'resnet18'"):
        registry = isolated_registry()
    assert "resnet81.x" not in [w for s in registry.models.by_qualified.values() for w in registry.weights_for(s)]
