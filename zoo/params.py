"""Real parameter counts for `zoo list`/`info`, without importing torch in the listing process.

Counts are computed once, in a child process that builds each model on torch's meta device, and cached
in ZOO_CACHE_DIR (default: $XDG_CACHE_HOME/zoo). A cache key changes when the plugin's version, the
factory, its kwargs or the factory module's source file change.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from zoo.atomic import write_text
from zoo.cachefile import read_cache
from zoo.errors import ZooWarning
from zoo.specs import ModelSpec


def cache_dir() -> Path:
    """zoo's cache folder: ZOO_CACHE_DIR, else $XDG_CACHE_HOME/zoo, else ~/.cache/zoo."""
    if os.environ.get("ZOO_CACHE_DIR"):
        return Path(os.environ["ZOO_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "zoo"


@cache
def _source_stamp(module_name: str) -> str:
    """mtime and size of a factory's source file, so edits to a plugin under development are noticed."""
    module = sys.modules.get(module_name)
    if module is not None:
        origin = getattr(module, "__file__", None)
    else:
        parent = module_name.rpartition(".")[0]
        if parent and parent not in sys.modules:
            return "-"  # finding it would import its package (torch.nn would import torch); its version suffices
        try:
            spec = importlib.util.find_spec(module_name)
        except (ImportError, ValueError):
            return "?"
        origin = spec.origin if spec else None
    if not origin or not os.path.exists(origin):
        return "?"
    stat = os.stat(origin)
    return f"{stat.st_mtime_ns}-{stat.st_size}"


def cache_key(spec: ModelSpec, version: str | None) -> str:
    """What a count depends on: plugin, version, factory, kwargs and the factory's source file."""
    factory = spec.factory
    if callable(factory):
        module = getattr(factory, "__module__", "?")
        factory = f"{module}:{getattr(factory, '__qualname__', '?')}"
    module_name = factory.partition(":")[0]
    kwargs = repr(sorted(spec.kwargs.items()))
    return f"{spec.qualified_name}|{version}|{factory}|{kwargs}|{_source_stamp(module_name)}"


def _read_cache(path: Path) -> dict[str, int]:
    """The cached counts; a damaged cache (bad JSON, wrong shape, a folder) is ignored with a warning and rebuilt."""
    data = read_cache(path, "parameters will be counted again")
    good = {k: v for k, v in data.items() if isinstance(v, int) and not isinstance(v, bool) and v >= 0}
    if len(good) != len(data):
        warnings.warn(f"{path} held {len(data) - len(good)} damaged entries: they will be counted again", ZooWarning, 3)
    return good


def _write_cache(path: Path, data: dict[str, int]) -> None:
    write_text(path, json.dumps(data, sort_keys=True))


def child_env() -> dict[str, str]:
    """The environment for a child interpreter that must find the same plugins, including those found on a path
    added to sys.path at run time."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}


def count_in_subprocess(names: list[str]) -> dict[str, int | str | None]:
    """Build each named model (qualified) on the meta device in a fresh interpreter and count its parameters."""
    proc = subprocess.run(
        [sys.executable, "-m", "zoo._count_params"],
        input=json.dumps(names),
        capture_output=True,
        text=True,
        check=False,
        env=child_env(),
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {name: f"the counting process failed: {last}" for name in names}
    return json.loads(proc.stdout)


def param_counts(
    specs: Iterable[ModelSpec], versions: dict[str, str | None]
) -> tuple[dict[str, int | None], list[str]]:
    """Counts by qualified name (None where a model failed to build), and warnings for those failures."""
    specs = list(specs)
    path = cache_dir() / "params.json"
    cached = _read_cache(path)
    keys = {s.qualified_name: cache_key(s, versions.get(s.plugin)) for s in specs}
    missing = [name for name, key in keys.items() if key not in cached]
    problems: list[str] = []
    if missing:
        fresh = count_in_subprocess(missing)
        for name in missing:
            value = fresh.get(name)
            if isinstance(value, int):
                cached[keys[name]] = value
            else:
                problems.append(f"cannot count the parameters of '{name}': {value}")
        if any(isinstance(fresh.get(n), int) for n in missing):
            try:
                _write_cache(path, cached)
            except OSError as exc:
                problems.append(f"cannot write the parameter cache {path}: {exc}")
    return {name: cached.get(key) for name, key in keys.items()}, problems
