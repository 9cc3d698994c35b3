"""Parameter counts: computed in a child process, cached, recomputed when what they depend on changes."""

import json
import warnings
from dataclasses import replace

import pytest

import zoo
from zoo.core.errors import ZooWarning
from zoo.registry.param_counts import cache_key, param_counts


def test_counts_are_cached_and_reused(isolated_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    registry = isolated_registry()
    specs = [registry.model("cnn"), registry.model("mf")]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZooWarning)  # counting the built-ins warns of nothing
        counts = param_counts(specs, {"cnn": "0.1.0", "recsys": "0.1.0"})
    assert counts == {"cnn:cnn": 62006, "recsys:mf": 943 * 65 + 1682 * 65 + 1}
    cache = json.loads((tmp_path / "params.json").read_text())
    assert sorted(cache.values()) == sorted(counts.values())
    # A cached count is read, not recomputed: poison the cached value and see it come back.
    key = cache_key(specs[0], "0.1.0")
    cache[key] = 1
    (tmp_path / "params.json").write_text(json.dumps(cache))
    assert param_counts(specs[:1], {"cnn": "0.1.0"}) == {"cnn:cnn": 1}
    # A new plugin version or other kwargs make a new key, so the count is computed again.
    assert param_counts(specs[:1], {"cnn": "0.2.0"}) == {"cnn:cnn": 62006}
    assert cache_key(replace(specs[0], kwargs={"num_classes": 5}), "0.1.0") != key


def test_corrupt_cache_is_rebuilt(isolated_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    (tmp_path / "params.json").write_text("{not json")
    registry = isolated_registry()
    with pytest.warns(ZooWarning, match="params.json is damaged"):
        assert param_counts([registry.model("cnn")], {}) == {"cnn:cnn": 62006}
    assert json.loads((tmp_path / "params.json").read_text())


def test_a_model_that_cannot_be_built_has_no_count_and_a_warning(
    isolated_registry, plugin_sites, tmp_path, monkeypatch
):
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    site = str(plugin_sites("zoo-unbuildable"))
    monkeypatch.syspath_prepend(site)
    monkeypatch.setenv("PYTHONPATH", site)  # the counting child process must see the plugin too
    registry = isolated_registry()
    with pytest.warns(ZooWarning) as caught:
        counts = param_counts([registry.model("needs_file"), registry.model("cnn")], {})
    assert counts == {"unbuildable:needs_file": None, "cnn:cnn": 62006}
    assert [str(w.message) for w in caught] == [
        "cannot count the parameters of 'unbuildable:needs_file': "
        "FileNotFoundError: weights.bin is required to build this model"
    ]
    assert "needs_file" in zoo.list_models()
