"""`zoo plugin new`, then install, list, train, predict, export, the new plugin's own tests and `zoo plugin check`."""

import json
import os
import subprocess
import sys

import pytest
from zoo_fixtures import pip_install_target

from zoo.jobs.scaffold import render


def test_a_new_plugin_installs_lists_trains_and_passes_its_own_tests(run_zoo, zoo_env, tmp_path):
    proc = run_zoo("plugin", "new", "demo", "--dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / "zoo-demo"
    assert proc.stdout.startswith(f"Created {folder}")
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == [
        "README.md",
        "pyproject.toml",
        "tests/test_demo.py",
        "zoo_demo/__init__.py",
        "zoo_demo/data.py",
        "zoo_demo/models.py",
        "zoo_demo/recipe.py",
    ]
    ruff = subprocess.run([sys.executable, "-m", "ruff", "check", str(folder)], capture_output=True, text=True)
    assert ruff.returncode == 0, ruff.stdout
    site = pip_install_target(folder, tmp_path / "site")

    listed = run_zoo("list", "--plugin", "demo", "--json", sites=[site])
    assert listed.returncode == 0, listed.stderr
    [model] = json.loads(listed.stdout)
    assert model["name"] == "demo_mlp" and model["params"] == 4 * 32 + 32 + 32 * 3 + 3

    run = tmp_path / "run"
    trained = run_zoo("train", "demo_mlp", "--device", "cpu", "--out", str(run), "--json", sites=[site])
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout)["metrics"]["accuracy"] > 0.9  # the toy set's blobs are easy
    predicted = run_zoo("predict", str(run), "3,0,0,0", "--json", sites=[site])
    assert json.loads(predicted.stdout)[0]["output"][0]["label"] == "class0"

    # it exports out of the box: the gate on the run's own validation rows, and the file answers as the model does
    exported = run_zoo("export", str(run), "--format", "onnx", "--json", sites=[site])
    assert exported.returncode == 0, exported.stderr
    parity = json.loads(exported.stdout)["parity"]
    assert parity["passed"] and parity["agreement"] == {"name": "top-1", "value": 1.0}, parity
    assert parity["source"] == "the validation split of demo-csv" and (run / "model.onnx").is_file()
    onnx = run_zoo("predict", str(run), "3,0,0,0", "--runtime", "onnx", "--json", sites=[site])
    assert onnx.returncode == 0, onnx.stderr
    eager_top, onnx_top = json.loads(predicted.stdout)[0]["output"], json.loads(onnx.stdout)[0]["output"]
    assert [r["label"] for r in onnx_top] == [r["label"] for r in eager_top]
    assert all(abs(a["score"] - b["score"]) <= 2e-4 for a, b in zip(onnx_top, eager_top, strict=True))

    env = dict(zoo_env, PYTHONPATH=str(site))
    own = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder / "tests")],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert own.returncode == 0, own.stdout + own.stderr
    assert "2 passed" in own.stdout

    checked = run_zoo("plugin", "check", "demo", sites=[site])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert not [line for line in checked.stdout.splitlines() if line.startswith("FAIL")]
    assert "demo: 13 checks passed, 0 failed" in checked.stdout
    [export] = [line for line in checked.stdout.splitlines() if line.startswith("ok   export [demo: demo-fit")]
    assert "onnx max |exported - eager|" in export and "pt2 max |exported - eager|" in export
    assert export.count("top-1 agreement 100%") == 2 and "the validation split of demo-csv" in export


def test_names_and_folders_are_checked(run_zoo, tmp_path):
    for bad in ("Demo", "2fast", "my-plugin", "a b"):
        proc = run_zoo("plugin", "new", bad, "--dir", str(tmp_path))
        assert proc.returncode == 2 and "is invalid" in proc.stderr, bad
    assert run_zoo("plugin", "new", "twice", "--dir", str(tmp_path)).returncode == 0
    again = run_zoo("plugin", "new", "twice", "--dir", str(tmp_path))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_names_flow_into_every_file():
    files = render("my_tool")
    assert 'name = "zoo-my-tool"' in files["pyproject.toml"]
    assert 'my_tool = "zoo_my_tool"' in files["pyproject.toml"]
    assert 'name="my_tool_mlp"' in files["zoo_my_tool/__init__.py"]
    assert 'assert_conformant("my_tool", tmp_path)' in files["tests/test_my_tool.py"]
    assert "$" not in "".join(v for k, v in files.items() if k.endswith(".py"))


@pytest.mark.skipif(os.name != "posix", reason="the venv layout below is POSIX's")
def test_plugins_install_and_uninstall_pip_into_zoos_environment(tmp_path):
    """A fresh venv that sees zoo's packages through a .pth file: `python -m zoo plugins install` pips the
    tinyplug wheel into that venv, `zoo plugins` shows it, `uninstall` removes it."""
    import site
    import sysconfig

    from zoo_fixtures import FIXTURE_PLUGINS, fresh_venv

    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels),
         str(FIXTURE_PLUGINS / "zoo-tinyplug")],
        check=True,
    )  # fmt: skip
    python, purelib = fresh_venv(tmp_path / "venv", sysconfig.get_paths()["purelib"], *site.getsitepackages())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "PIP_"))}
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels), PIP_DISABLE_PIP_VERSION_CHECK="1")

    def zoo(*args):
        return subprocess.run([str(python), "-m", "zoo", *args], env=env, capture_output=True, text=True, timeout=300)

    def plugin_names():
        return {p["name"] for p in json.loads(zoo("plugins", "--json").stdout)}

    assert "tiny" not in plugin_names()
    installed = zoo("plugins", "install", "zoo-tinyplug")
    assert installed.returncode == 0, installed.stderr
    assert "tiny" in plugin_names()
    assert list(purelib.glob("zoo_tinyplug-*.dist-info"))  # in the venv itself
    removed = zoo("plugins", "uninstall", "zoo-tinyplug")
    assert removed.returncode == 0, removed.stderr
    assert "tiny" not in plugin_names()
    missing = zoo("plugins", "install", "zoo-nonexistent-plugin")
    assert missing.returncode == 1 and "pip install failed" in missing.stderr


NOT_NAMES = [
    ["install", "./zoo-foo"],
    ["install", "https://x.org/a.whl"],
    ["install", "zoo-foo; python_version<'3'"],
    ["install", "zoo-foo @ https://x.org/a.whl"],
    ["uninstall", "zoo"],
    ["uninstall", "zoo-core"],
    ["install"],
]


@pytest.mark.parametrize("args", NOT_NAMES)
def test_install_refuses_what_is_not_a_distribution_name(run_zoo, args):
    proc = run_zoo("plugins", *args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
