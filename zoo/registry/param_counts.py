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
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from zoo.core.atomic import write_text
from zoo.core.cache import cache_dir, read_cache
from zoo.core.child_process import child_env
from zoo.core.errors import warn
from zoo.plugin.specs import ModelSpec


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
        warn(f"{path} held {len(data) - len(good)} damaged entries: they will be counted again", stacklevel=3)
    return good


def _write_cache(path: Path, data: dict[str, int]) -> None:
    write_text(path, json.dumps(data, sort_keys=True))


def count_in_subprocess(models: list[tuple[str, dict]]) -> list[int | str | None]:
    """Build each (qualified name, kwargs) on the meta device in a fresh interpreter and count its parameters."""
    proc = subprocess.run(
        [sys.executable, "-m", "zoo.registry.count_params_child"],
        input=json.dumps(models),
        capture_output=True,
        text=True,
        check=False,
        env=child_env(),
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return [f"the counting process failed: {last}"] * len(models)
    return json.loads(proc.stdout)


def param_counts(specs: Iterable[ModelSpec], versions: dict[str, str | None]) -> dict[str, int | None]:
    """Counts by qualified name (each spec built with its kwargs); None, with a ZooWarning saying why, where a
    model failed to build."""
    specs = list(specs)
    path = cache_dir() / "params.json"
    cached = _read_cache(path)
    keys = {s.qualified_name: cache_key(s, versions.get(s.plugin)) for s in specs}
    missing = [s for s in specs if keys[s.qualified_name] not in cached]
    if missing:
        fresh = count_in_subprocess([(s.qualified_name, dict(s.kwargs)) for s in missing])
        for spec, value in zip(missing, fresh, strict=True):
            if isinstance(value, int):
                cached[keys[spec.qualified_name]] = value
            else:
                warn(f"cannot count the parameters of '{spec.qualified_name}': {value}")
        if any(isinstance(value, int) for value in fresh):
            try:
                _write_cache(path, cached)
            except OSError as exc:
                warn(f"cannot write the parameter cache {path}: {exc}")
    return {name: cached.get(key) for name, key in keys.items()}
