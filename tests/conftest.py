"""Shared fixtures: real plugin distributions installed with pip, and the real `zoo` CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURE_PLUGINS = Path(__file__).parent / "fixtures" / "plugins"
ZOO = Path(sys.executable).with_name("zoo")


def pip_install_target(source: Path, target: Path) -> Path:
    """Install a plugin's source tree as a real distribution into `target` (a site dir for PYTHONPATH)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return target


@pytest.fixture(scope="session")
def plugin_sites(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """`plugin_sites("zoo-clash")`: the site dir where that fixture plugin is installed (once per session)."""
    installed: dict[str, Path] = {}

    def site(name: str) -> Path:
        if name not in installed:
            target = tmp_path_factory.mktemp(f"site-{name}")
            installed[name] = pip_install_target(FIXTURE_PLUGINS / name, target)
        return installed[name]

    return site


@pytest.fixture(scope="session")
def params_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One parameter-count cache for the session, so each model is counted once."""
    return tmp_path_factory.mktemp("zoo-cache")


@pytest.fixture
def zoo_env(params_cache: Path, tmp_path: Path) -> dict[str, str]:
    """The environment for a `zoo` subprocess: no ZOO_* or HF_* leaking in from the caller, a wide terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOO_", "HF_", "PYTHONPATH"))}
    env.update(ZOO_CACHE_DIR=str(params_cache), HF_HOME=str(tmp_path / "hf"), COLUMNS="200", NO_COLOR="1")
    return env


@pytest.fixture
def run_zoo(zoo_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed `zoo` console script; `sites=[...]` adds plugin site dirs, `env={...}` more variables."""

    def run(
        *args: str, sites: list[Path] = (), env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        full = dict(zoo_env, **(env or {}))
        if sites:
            full["PYTHONPATH"] = os.pathsep.join(str(s) for s in sites)
        return subprocess.run([str(ZOO), *args], env=full, capture_output=True, text=True, timeout=timeout)

    return run


@pytest.fixture
def isolated_registry(monkeypatch: pytest.MonkeyPatch, params_cache: Path):
    """Reload zoo's registry in this process after the test changes sys.path or ZOO_* variables; reset after."""
    import zoo

    for key in [k for k in os.environ if k.startswith("ZOO_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("ZOO_CACHE_DIR", str(params_cache))
    yield zoo.reload
    monkeypatch.undo()
    zoo.reload()
