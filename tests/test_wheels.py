"""zoo ships as wheels: the core (`zoo-core`) and the six built-in plugins, built and installed into a fresh venv."""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from zoo_fixtures import fresh_venv

ROOT = Path(__file__).resolve().parents[1]
BUILTINS = {"cnn": "zoo-cnn", "images": "zoo-images", "resnet": "zoo-resnet", "recsys": "zoo-recsys"}
BUILTINS |= {"wav2vec": "zoo-wav2vec", "mlflow": "zoo-mlflow"}


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="the venv layout below is POSIX's")
def test_wheels_alone_give_zoo_and_its_six_plugins(tmp_path):
    wheels = tmp_path / "wheels"
    projects = [ROOT, *sorted(p.parent for p in (ROOT / "plugins").glob("*/pyproject.toml"))]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels),
         *map(str, projects)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    built = sorted(p.name.split("-")[0] for p in wheels.glob("*.whl"))
    expected = ["zoo_cnn", "zoo_core", "zoo_images", "zoo_mlflow", "zoo_recsys", "zoo_resnet", "zoo_wav2vec"]
    assert built == expected, built

    venv = tmp_path / "venv"
    python, purelib = fresh_venv(venv)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", *map(str, wheels.glob("*.whl"))],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    # Only now, so that pip installed every wheel: zoo's dependencies (torch, typer, huggingface_hub, ...) come from
    # this environment's site-packages, listed after the venv's own; zoo's and the plugins' code and metadata come
    # from the wheels alone.
    (purelib / "zoo-under-test.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "ZOO_"))}
    env.update(ZOO_CACHE_DIR=str(tmp_path / "cache"), COLUMNS="200")
    work = tmp_path / "elsewhere"  # not the checkout, so nothing is imported from the source tree
    work.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=300)

    listing = run(str(venv / "bin" / "zoo"), "list", "--json")
    assert listing.returncode == 0, listing.stderr
    by_plugin: dict[str, set[str]] = {}
    for row in json.loads(listing.stdout):
        by_plugin.setdefault(row["plugin"], set()).add(row["name"])
    assert by_plugin["cnn"] == {"cnn"} and by_plugin["recsys"] == {"mf", "ncf"}
    assert {"resnet18", "resnet152"} <= by_plugin["resnet"] and "wav2vec2_base" in by_plugin["wav2vec"]
    plugins = {p["name"]: p for p in json.loads(run(str(venv / "bin" / "zoo"), "plugins", "--json").stdout)}
    assert {name: plugins[name]["distribution"] for name in BUILTINS} == BUILTINS
    assert all(plugins[name]["status"] == "ok" for name in BUILTINS)

    where = run(
        str(python),
        "-c",
        "import json, zoo, zoo_cnn, zoo_images, zoo_mlflow, zoo_recsys, zoo_resnet, zoo_wav2vec\n"
        "from importlib import metadata\n"
        "mods = [zoo, zoo_cnn, zoo_images, zoo_mlflow, zoo_recsys, zoo_resnet, zoo_wav2vec]\n"
        "print(json.dumps([m.__file__ for m in mods] + [str(metadata.distribution('zoo-core').locate_file(''))]))",
    )
    assert where.returncode == 0, where.stderr
    assert all(Path(p).resolve().is_relative_to(venv.resolve()) for p in json.loads(where.stdout)), where.stdout
    scaffold = run(str(venv / "bin" / "zoo"), "plugin", "new", "shipped", "--dir", str(work))
    assert scaffold.returncode == 0, scaffold.stderr  # the templates and registry.toml are in the wheel
    assert '"zoo-core"' in (work / "zoo-shipped" / "pyproject.toml").read_text()
