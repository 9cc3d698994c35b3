"""Discovery through real entry points of installed distributions: allowlist, broken plugins, strict mode."""

import pytest

from zoo.core.errors import PluginError, ZooWarning
from zoo.registry.discovery import discover

BUILTINS = {"cnn": "zoo-cnn", "resnet": "zoo-resnet", "recsys": "zoo-recsys", "wav2vec": "zoo-wav2vec"}


@pytest.fixture
def clean_env(monkeypatch):
    for key in ("ZOO_LOAD_PLUGINS", "ZOO_STRICT_PLUGINS"):
        monkeypatch.delenv(key, raising=False)
    return monkeypatch


@pytest.mark.usefixtures("clean_env")
def test_builtins_come_from_their_own_distributions():
    found = {p.name: p for p in discover().plugins}
    for name, dist in BUILTINS.items():
        assert found[name].distribution == dist
        assert found[name].ok, found[name].error
        assert found[name].version == "0.1.0"
    assert [m.name for m in found["resnet"].models] == ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
    assert {m.plugin for m in found["resnet"].models} == {"resnet"}


def test_allowlist_by_plugin_or_distribution_name(clean_env):
    clean_env.setenv("ZOO_LOAD_PLUGINS", "cnn, zoo-recsys")
    assert sorted(p.name for p in discover().plugins) == ["cnn", "recsys"]
    clean_env.setenv("ZOO_LOAD_PLUGINS", "")
    assert discover().plugins == []


def test_allowlist_warns_about_unknown_names(clean_env):
    clean_env.setenv("ZOO_LOAD_PLUGINS", "cnn,nosuchplugin")
    with pytest.warns(ZooWarning, match="'nosuchplugin', which no installed plugin provides"):
        result = discover()
    assert [p.name for p in result.plugins] == ["cnn"]


def test_third_party_plugin_registers_everything(clean_env, plugin_sites):
    clean_env.syspath_prepend(str(plugin_sites("zoo-tinyplug")))
    tiny = discover().get("tiny")
    assert tiny is not None and tiny.ok, tiny and tiny.error
    assert (tiny.distribution, tiny.version) == ("zoo-tinyplug", "1.2.3")
    assert [m.qualified_name for m in tiny.models] == ["tiny:tiny_mlp"]
    assert [d.name for d in tiny.datasets] == ["tiny-digits"]
    assert [r.name for r in tiny.recipes] == ["tiny-fit"]
    assert len(tiny.catalogs) == 1


@pytest.mark.parametrize(
    ("dist", "name", "error"),
    [
        ("zoo-brokenimport", "brokenimport", "ModuleNotFoundError: No module named 'zoo_missing_dependency'"),
        ("zoo-brokenhook", "brokenhook", "register_models raised RuntimeError: the hook exploded on purpose"),
        ("zoo-typohook", "typohook", "implements unknown hook(s) register_model"),
    ],
)
def test_broken_plugin_is_recorded_and_skipped(clean_env, plugin_sites, dist, name, error):
    clean_env.syspath_prepend(str(plugin_sites(dist)))
    with pytest.warns(ZooWarning, match=f"plugin '{name}' was skipped: .*Run 'zoo plugins' for details"):
        result = discover()
    broken = result.get(name)
    assert broken.status == "error"
    assert error in broken.error
    assert broken.models == []  # nothing half-registered survives
    assert all(p.ok for p in result.plugins if p.name in BUILTINS)


def test_strict_mode_makes_a_broken_plugin_fatal(clean_env, plugin_sites):
    clean_env.syspath_prepend(str(plugin_sites("zoo-brokenhook")))
    clean_env.setenv("ZOO_STRICT_PLUGINS", "1")
    with (
        pytest.raises(PluginError, match=r"plugin .brokenhook. .* is broken: register_models raised"),
        pytest.warns(ZooWarning, match="was skipped"),
    ):
        discover()


def test_importing_builtin_entry_points_does_not_import_torch():
    # A fresh interpreter: this test process has torch loaded already.
    import subprocess
    import sys

    code = "import sys; from zoo.registry.discovery import discover; discover(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_python_user_sees_a_broken_plugins_warning(plugin_sites, zoo_env):
    """`import zoo; zoo.list_models()` in a fresh interpreter: the warning arrives as Python shows any warning."""
    import subprocess
    import sys

    env = dict(zoo_env, PYTHONPATH=str(plugin_sites("zoo-brokenhook")))
    code = "import zoo\nprint(zoo.list_models('cnn'))"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "['cnn']"  # the others keep working
    assert "ZooWarning: plugin 'brokenhook' was skipped: register_models raised RuntimeError" in proc.stderr
