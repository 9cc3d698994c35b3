"""The real `zoo` console script in a subprocess: output, JSON, exit codes, and no traceback on errors."""

import json
import subprocess
import sys

import pytest
from catalog_mistakes import MISTAKES
from zoo_fixtures import assert_clean_error

LIST_FIELDS = {"name", "plugin", "task", "params", "pretrained", "description"}


def test_version_and_help(run_zoo):
    assert run_zoo("--version").stdout.strip() == "zoo 0.1.0"
    help_text = run_zoo("--help").stdout
    for command in ("list", "info", "plugins"):
        assert command in help_text


def test_list_table_and_json(run_zoo):
    table = run_zoo("list")
    assert table.returncode == 0, table.stderr
    for name in ("cnn", "resnet152", "mf", "ncf", "wav2vec2_large", "resnet18.tv_in1k"):
        assert name in table.stdout
    rows = json.loads(run_zoo("list", "--json").stdout)
    assert all(set(row) == LIST_FIELDS for row in rows)
    by_name = {r["name"]: r for r in rows}
    assert by_name["resnet18"]["params"] == 11_689_512
    assert by_name["cnn"] == by_name["cnn"] | {"plugin": "cnn", "task": "image-classification", "params": 62006}
    pretrained = json.loads(run_zoo("list", "--pretrained", "--json").stdout)
    assert [r["name"] for r in pretrained] == [  # natural order, as timm lists them
        "resnet18",
        "resnet34",
        "resnet50",
        "resnet101",
        "resnet152",
        "wav2vec2_base",
    ]
    recsys = json.loads(run_zoo("list", "--task", "recommendation", "--json").stdout)
    assert [r["name"] for r in recsys] == ["mf", "ncf"]
    assert [r["name"] for r in json.loads(run_zoo("list", "resnet5*", "--json").stdout)] == ["resnet50"]


def test_info_table_and_json(run_zoo):
    proc = run_zoo("info", "resnet18")
    assert proc.returncode == 0, proc.stderr
    for text in (
        "resnet:resnet18",
        "11,689,512",
        "resnet18.tv_in1k (default)",
        "timm/resnet18.tv_in1k @ main",
        "imagenet-1k/acc@1",
        "69.758",
    ):
        assert text in proc.stdout
    info = json.loads(run_zoo("info", "wav2vec2_base.960h", "--json").stdout)
    assert LIST_FIELDS | {"datasets", "recipes", "weights"} <= set(info)
    assert info["weights"][0]["name"] == "wav2vec2_base.960h"
    assert info["weights"][0]["pinned"] is False


def test_plugins_table_and_json(run_zoo):
    rows = {r["name"]: r for r in json.loads(run_zoo("plugins", "--json").stdout)}
    assert rows["resnet"] == rows["resnet"] | {
        "distribution": "zoo-resnet",
        "version": "0.1.0",
        "status": "ok",
        "error": None,
    }
    assert set(rows["resnet"]) == {
        "name",
        "version",
        "distribution",
        "status",
        "error",
        "models",
        "datasets",
        "recipes",
        "loggers",
    }
    assert rows["mlflow"]["loggers"] == ["mlflow"] and rows["resnet"]["loggers"] == []
    table = run_zoo("plugins").stdout
    assert "zoo-wav2vec" in table and "Loggers" in table


def test_unknown_name_exits_2_with_did_you_mean(run_zoo):
    assert_clean_error(run_zoo("info", "resnt18"), 2, "unknown model 'resnt18'", "Did you mean 'resnet18'")
    assert_clean_error(run_zoo("info", "resnet18.tv_in21k"), 2, "Did you mean 'resnet18.tv_in1k'")
    assert_clean_error(run_zoo("list", "--bogus"), 2, "No such option")


def test_debug_shows_the_traceback(run_zoo):
    proc = run_zoo("--debug", "info", "resnt18")
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "UnknownNameError" in proc.stderr
    assert "Traceback" in run_zoo("info", "resnt18", env={"ZOO_DEBUG": "1"}).stderr


def test_third_party_plugin_through_its_entry_point(run_zoo, plugin_sites):
    site = [plugin_sites("zoo-tinyplug")]
    rows = {r["name"]: r for r in json.loads(run_zoo("list", "--json", sites=site).stdout)}
    assert rows["tiny_mlp"] == {
        "name": "tiny_mlp",
        "plugin": "tiny",
        "task": "tabular-classification",
        "params": 67,
        "pretrained": ["tiny_mlp.demo"],
        "description": "A two-layer MLP",
    }
    hello = run_zoo("tiny-hello", "--name", "zoo", sites=site)
    assert hello.stdout.strip() == "hello zoo from tiny", hello.stderr


def broken_error(stderr: str) -> str:
    return stderr.split("was skipped: ", 1)[1].split(". Run 'zoo plugins'", 1)[0]


@pytest.mark.parametrize(
    ("dist", "error"),
    [
        ("zoo-brokenimport", "No module named 'zoo_missing_dependency'"),
        ("zoo-brokenhook", "register_models raised RuntimeError: the hook exploded on purpose"),
        ("zoo-typohook", "unknown hook(s) register_model"),
    ],
)
def test_broken_plugin_through_the_cli(run_zoo, plugin_sites, dist, error):
    site = [plugin_sites(dist)]
    listing = run_zoo("list", "--json", sites=site)
    assert listing.returncode == 0
    assert {"cnn", "resnet18", "mf", "wav2vec2_base"} <= {r["name"] for r in json.loads(listing.stdout)}
    assert error in listing.stderr and "Traceback" not in listing.stderr
    assert [line for line in listing.stderr.splitlines() if "was skipped" in line] == [  # once, as one line
        f"warning: plugin '{dist.removeprefix('zoo-')}' was skipped: {broken_error(listing.stderr)}. "
        "Run 'zoo plugins' for details."
    ]
    broken = [p for p in json.loads(run_zoo("plugins", "--json", sites=site).stdout) if p["status"] == "error"]
    assert len(broken) == 1 and error in broken[0]["error"]
    assert broken[0]["distribution"] == dist
    assert error in run_zoo("plugins", sites=site).stdout
    strict = run_zoo("list", sites=site, env={"ZOO_STRICT_PLUGINS": "1"})
    assert_clean_error(strict, 1, "is broken", error, "ZOO_STRICT_PLUGINS")


def test_clashing_plugin_through_the_cli(run_zoo, plugin_sites):
    site = [plugin_sites("zoo-clash")]
    proc = run_zoo("info", "cnn", sites=site)
    assert_clean_error(proc, 2, "model name 'cnn' is registered by plugins", "'cnn'", "'clash'", "'clash:cnn'")
    info = json.loads(run_zoo("info", "clash:cnn", "--json", sites=site).stdout)
    assert info["description"] == "Another plugin's 'cnn'"
    assert json.loads(run_zoo("info", "cnn:cnn", "--json", sites=site).stdout)["params"] == 62006
    listing = run_zoo("list", "--json", sites=site)
    names = [r["name"] for r in json.loads(listing.stdout)]
    assert "clash:cnn" in names and "cnn:cnn" in names and "cnn" not in names
    assert "registered by plugins" in listing.stderr


def test_allowlist_through_the_cli(run_zoo, plugin_sites):
    site = [plugin_sites("zoo-tinyplug"), plugin_sites("zoo-brokenimport")]
    only_tiny = json.loads(run_zoo("list", "--json", sites=site, env={"ZOO_LOAD_PLUGINS": "zoo-tinyplug"}).stdout)
    assert [r["name"] for r in only_tiny] == ["tiny_mlp"]
    two = run_zoo("plugins", "--json", sites=site, env={"ZOO_LOAD_PLUGINS": "cnn,resnet"})
    assert sorted(p["name"] for p in json.loads(two.stdout)) == ["cnn", "resnet"]
    assert two.stderr == ""  # the broken plugin was never imported, and the catalog's other entries stay quiet
    none = run_zoo("list", "--json", env={"ZOO_LOAD_PLUGINS": ""})
    assert json.loads(none.stdout) == []
    assert none.stderr == ""


@pytest.mark.parametrize("kind", sorted(MISTAKES))
def test_malformed_registry_file_through_the_cli(run_zoo, tmp_path, kind):
    text, line, words = MISTAKES[kind]
    path = tmp_path / "team-registry.toml"
    path.write_text(text)
    proc = run_zoo("list", env={"ZOO_REGISTRY": str(path)})
    where = f"{path}:{line}: " if line else f"{path}: "
    assert_clean_error(proc, 2, where, *words)
    assert len(proc.stderr.strip().splitlines()) == 1


def test_missing_registry_file_through_the_cli(run_zoo, tmp_path):
    assert_clean_error(run_zoo("list", env={"ZOO_REGISTRY": str(tmp_path / "gone.toml")}), 2, "catalog file not found")


@pytest.mark.parametrize("command", [["list"], ["list", "--json"], ["info", "resnet18"], ["plugins"]])
def test_listing_commands_do_not_import_torch(zoo_env, tmp_path, command):
    code = (
        "import sys\n"
        f"sys.argv = ['zoo', *{command!r}]\n"
        "from zoo.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "sys.stderr.write('TORCH=' + str('torch' in sys.modules))\n"
    )
    for cache in (zoo_env["ZOO_CACHE_DIR"], str(tmp_path / "cold-cache")):  # warm, then cold parameter cache
        env = dict(zoo_env, ZOO_CACHE_DIR=cache)
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.endswith("TORCH=False"), proc.stderr


def test_shell_completion(run_zoo, zoo_env):
    from zoo_fixtures import ZOO

    # --show-completion detects the shell among zoo's parent processes: give it one, whatever runs the tests.
    script = subprocess.run(
        ["bash", "-c", '"$0" --show-completion; exit $?', str(ZOO)], env=zoo_env, capture_output=True, text=True
    )
    assert script.returncode == 0 and "_ZOO_COMPLETE" in script.stdout, script.stderr
    proc = run_zoo(env={"_ZOO_COMPLETE": "complete_bash", "COMP_WORDS": "zoo info resnet1", "COMP_CWORD": "2"})
    assert {"resnet18", "resnet101", "resnet152"} <= set(proc.stdout.split())


# Foreign text never forges output ------------------------------------------------------------------------------

FORGED_LABEL = "dog  0.9999\n  cat"


def test_a_label_with_a_newline_cannot_forge_a_prediction_line(run_zoo, make_run, tmp_path):
    import numpy as np
    from PIL import Image

    run, _ = make_run("cnn", dataset="cifar10")
    config = json.loads((run / "config.json").read_text())
    labels = [FORGED_LABEL, *(f"class\t{i}\x1b[2J" for i in range(1, 10))]
    (run / "config.json").write_text(json.dumps({**config, "labels": labels}))
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "x.png")
    proc = run_zoo("predict", str(run), str(tmp_path / "x.png"), "--top", "10", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 11 and lines[0] == f"{tmp_path / 'x.png'}:", lines  # the input, then one line per class
    assert sum(line.startswith("  dog  0.9999\\n  cat  0.") for line in lines) == 1, lines
    assert sum(line.startswith("  class\\t") and "\\x1b[2J  0." in line for line in lines) == 9, lines


def test_a_run_folder_name_with_a_newline_cannot_forge_a_table_row(run_zoo, make_run, tmp_path):
    root = tmp_path / "runs"
    make_run("cnn", folder=root / "good")
    evil = "evil\ncnn  cnn-digits  digits  accuracy 1.0"
    make_run("cnn", folder=root / evil)
    table = run_zoo("runs", str(root))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert len(lines) == 3 and lines[0].startswith("Run "), lines  # a header and two rows
    assert any(line.startswith(f"{root}/evil\\ncnn  cnn-digits") for line in lines), lines
    listed = json.loads(run_zoo("runs", str(root), "--json").stdout)  # JSON keeps the name exactly
    assert sorted(r["run_dir"] for r in listed) == [f"{root}/{evil}", f"{root}/good"]
