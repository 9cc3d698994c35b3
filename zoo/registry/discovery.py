"""Plugin discovery: entry points in group "zoo", the ZOO_LOAD_PLUGINS allowlist, isolation of broken plugins.

Every plugin, built-in or third-party, comes in through its entry point. A plugin that fails to import,
or whose hook raises, is recorded with its error and left out; the rest keep working.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pluggy

from zoo.core.errors import PluginError, warn
from zoo.plugin import hooks
from zoo.plugin.hooks import HOOK_NAMES
from zoo.plugin.specs import DatasetSpec, LoggerSpec, ModelSpec, RecipeSpec

ENTRY_POINT_GROUP = "zoo"
REGISTER_HOOKS = {
    "register_models": ("models", ModelSpec),
    "register_datasets": ("datasets", DatasetSpec),
    "register_recipes": ("recipes", RecipeSpec),
    "register_loggers": ("loggers", LoggerSpec),
}


@dataclass
class PluginInfo:
    """One plugin as discovered: where it came from, whether it loaded, and what it registered."""

    name: str
    distribution: str | None = None
    version: str | None = None
    status: str = "ok"
    error: str | None = None
    models: list[ModelSpec] = field(default_factory=list)
    datasets: list[DatasetSpec] = field(default_factory=list)
    recipes: list[RecipeSpec] = field(default_factory=list)
    loggers: list[LoggerSpec] = field(default_factory=list)
    catalogs: list[Any] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def fail(self, error: str) -> None:
        """Mark the plugin broken and drop everything it registered."""
        if self.ok:
            self.status, self.error = "error", error
        self.models, self.datasets, self.recipes, self.loggers, self.catalogs = [], [], [], [], []


@dataclass
class PluginSet:
    """The result of discovery: the plugins in entry-point order and the manager, whose hooks only `call` reaches."""

    plugins: list[PluginInfo]
    manager: pluggy.PluginManager

    def get(self, name: str) -> PluginInfo | None:
        return next((p for p in self.plugins if p.name == name), None)

    def implements(self, plugin: str, hook: str) -> bool:
        """Whether the working plugin `plugin` implements `hook`."""
        return any(info.name == plugin for info, _ in self._implementations(hook))

    def call(self, hook: str, plugin: str | None = None, **kwargs: Any) -> Iterator[tuple[PluginInfo, Any]]:
        """Call `hook` on each working plugin that implements it (or on `plugin` alone), in entry-point order, with
        the keyword arguments its implementation takes. Yields (plugin, result), or (plugin, the exception it raised)
        for the caller to judge; a plugin is called only when the caller asks for the next one."""
        for info, impl in self._implementations(hook):
            if plugin is not None and info.name != plugin:
                continue
            try:
                result = impl.function(**{name: kwargs[name] for name in impl.argnames})
            except Exception as exc:  # the caller decides: mark the plugin broken, warn, or re-raise
                result = exc
            yield info, result

    def _implementations(self, hook: str) -> list[tuple[PluginInfo, pluggy.HookImpl]]:
        if hook not in HOOK_NAMES:
            raise ValueError(f"'{hook}' is not one of zoo's hooks: {', '.join(HOOK_NAMES)}")
        found = []
        for impl in getattr(self.manager.hook, hook).get_hookimpls():  # in registration, so entry-point, order
            info = self.get(impl.plugin_name)
            if info is not None and info.ok:
                found.append((info, impl))
        return found


def normalize(name: str) -> str:
    """A distribution or plugin name in PEP 503 normal form."""
    return re.sub(r"[-_.]+", "-", name).lower()


def allowlist() -> set[str] | None:
    """The names ZOO_LOAD_PLUGINS allows (normalized), or None when it is unset."""
    raw = os.environ.get("ZOO_LOAD_PLUGINS")
    if raw is None:
        return None
    return {normalize(n.strip()) for n in raw.split(",") if n.strip()}


def strict() -> bool:
    return os.environ.get("ZOO_STRICT_PLUGINS", "").strip().lower() in {"1", "true", "yes"}


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _register_callback(info: PluginInfo, attr: str, spec_type: type) -> Callable[[Any], None]:
    items = getattr(info, attr)
    seen = {item.name for item in items}

    def register(spec: Any) -> None:
        if not isinstance(spec, spec_type):
            raise TypeError(f"register() takes a {spec_type.__name__}, got {type(spec).__name__}")
        if spec.name in seen:
            raise ValueError(f"{spec_type.__name__} '{spec.name}' registered twice")
        seen.add(spec.name)
        items.append(_with_plugin(spec, info.name))

    return register


def _with_plugin(spec: Any, plugin: str) -> Any:
    # Specs are frozen and already validated: stamp the plugin name on a shallow copy.
    stamped = copy.copy(spec)
    object.__setattr__(stamped, "plugin", plugin)
    return stamped


def _catalog_callback(info: PluginInfo) -> Callable[[Any], None]:
    def register(source: Any) -> None:
        if not isinstance(source, (str, os.PathLike)) and not hasattr(source, "read_text"):
            raise TypeError(f"register() takes the path of a catalog TOML file, got {type(source).__name__}")
        info.catalogs.append(Path(source) if isinstance(source, str) else source)

    return register


def _unknown_hooks(manager: pluggy.PluginManager, plugin: object) -> list[str]:
    """Hooks a plugin implements that are not in the contract (typos such as 'register_model')."""
    return [caller.name for caller in manager.get_hookcallers(plugin) or [] if not caller.has_spec()]


def _entry_points() -> list[metadata.EntryPoint]:
    return list(metadata.entry_points(group=ENTRY_POINT_GROUP))


def discover() -> PluginSet:
    """Load every allowed plugin from its entry point and collect what its hooks register."""
    manager = pluggy.PluginManager("zoo")
    manager.add_hookspecs(hooks)
    allowed = allowlist()
    result = PluginSet(plugins=[], manager=manager)
    matched: set[str] = set()
    by_name: dict[str, PluginInfo] = {}
    for ep in _entry_points():
        dist = ep.dist
        dist_name = dist.metadata["Name"] if dist is not None else None
        if allowed is not None:
            keys = {normalize(ep.name)} | ({normalize(dist_name)} if dist_name else set())
            if not keys & allowed:
                continue
            matched |= keys & allowed
        info = PluginInfo(name=ep.name, distribution=dist_name, version=dist.version if dist else None)
        result.plugins.append(info)
        if ep.name in by_name:
            other = by_name[ep.name]
            info.fail(f"plugin name '{ep.name}' is already taken by distribution '{other.distribution}'")
            continue
        by_name[ep.name] = info
        try:
            module = ep.load()
            manager.register(module, name=ep.name)
        except Exception as exc:  # a broken plugin must not take the others down
            info.fail(f"cannot load entry point '{ep.value}': {_describe(exc)}")
            continue
        unknown = _unknown_hooks(manager, module)
        if unknown:
            manager.unregister(module)
            info.fail(f"implements unknown hook(s) {', '.join(unknown)}; zoo's hooks are: {', '.join(HOOK_NAMES)}")
    _collect(result)
    for info in result.plugins:
        if not info.ok:
            warn(f"plugin '{info.name}' was skipped: {info.error}. Run 'zoo plugins' for details.")
    if allowed is not None:
        for name in sorted(allowed - matched):
            warn(f"ZOO_LOAD_PLUGINS names '{name}', which no installed plugin provides.")
    if strict():
        broken = [p for p in result.plugins if not p.ok]
        if broken:
            first = broken[0]
            raise PluginError(
                f"plugin '{first.name}' ({first.distribution}) is broken: {first.error}. "
                "Fix it, uninstall it, or unset ZOO_STRICT_PLUGINS."
            )
    return result


def _collect(result: PluginSet) -> None:
    """Run every plugin's register_* hooks; a plugin whose hook raises is marked broken, and what it registered
    dropped."""
    for hook_name, (attr, spec_type) in REGISTER_HOOKS.items():
        for info in list(result.plugins):
            if not info.ok:
                continue
            for _, outcome in result.call(
                hook_name, plugin=info.name, register=_register_callback(info, attr, spec_type)
            ):
                if isinstance(outcome, Exception):
                    info.fail(f"{hook_name} raised {_describe(outcome)}")
    for info in list(result.plugins):
        for _, outcome in result.call("register_catalog", plugin=info.name, register=_catalog_callback(info)):
            if isinstance(outcome, Exception):
                info.fail(f"register_catalog raised {_describe(outcome)}")


def add_commands(plugin_set: PluginSet, app: Any) -> None:
    """Let each working plugin add CLI commands; one that raises is marked broken."""
    for info, outcome in plugin_set.call("register_commands", app=app):
        if isinstance(outcome, Exception):
            info.fail(f"register_commands raised {_describe(outcome)}")
            warn(f"plugin '{info.name}' was skipped: {info.error}. Run 'zoo plugins' for details.")
