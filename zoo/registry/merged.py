"""The merged view of what plugins registered and what the catalogs name: lookup, filters, clashes.

A short name (`resnet18`) works when one plugin registers it; `plugin:name` always works. Two plugins
registering one name is reported naming both, and neither silently wins.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Generic, TypeVar

from zoo.core.errors import UnknownNameError, UsageError, warn
from zoo.plugin.specs import DatasetSpec, LoggerSpec, ModelSpec, RecipeSpec
from zoo.registry.builtin_loggers import BUILTIN_LOGGERS
from zoo.registry.catalog import WeightsEntry, load_catalog
from zoo.registry.discovery import PluginSet, discover

BUILTIN_CATALOG = Path(__file__).parent.parent / "registry.toml"
Spec = TypeVar("Spec", ModelSpec, DatasetSpec, RecipeSpec, LoggerSpec)


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders the digits in a name as numbers: resnet18, resnet34, resnet50, resnet101."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name.lower()) if part)


@dataclass
class Namespace(Generic[Spec]):
    """Specs of one kind, by qualified name and by short name."""

    kind: str
    by_qualified: dict[str, Spec] = field(default_factory=dict)
    by_short: dict[str, list[Spec]] = field(default_factory=dict)

    def add(self, spec: Spec) -> None:
        self.by_qualified[spec.qualified_name] = spec
        self.by_short.setdefault(spec.name, []).append(spec)

    def clashes(self) -> dict[str, list[Spec]]:
        return {name: specs for name, specs in self.by_short.items() if len(specs) > 1}

    def display_name(self, spec: Spec) -> str:
        """The short name when it is unique, else `plugin:name`."""
        return spec.name if len(self.by_short[spec.name]) == 1 else spec.qualified_name

    def names(self) -> list[str]:
        shown = {self.display_name(s) for s in self.by_qualified.values()}
        return sorted(shown | set(self.by_qualified), key=natural_key)

    def get(self, name: str) -> Spec:
        if ":" in name:
            spec = self.by_qualified.get(name)
        else:
            found = self.by_short.get(name, [])
            if len(found) > 1:
                plugins = " and ".join(f"'{s.plugin}'" for s in found)
                options = " or ".join(f"'{s.qualified_name}'" for s in found)
                raise UsageError(f"{self.kind} name '{name}' is registered by plugins {plugins}; write {options}.")
            spec = found[0] if found else None
        if spec is None:
            raise UnknownNameError(self.kind, name, self.names())
        return spec


def recipe_trains(recipe: RecipeSpec, model: ModelSpec) -> bool:
    """A recipe names its model exactly (`resnet18`, `resnet:resnet18`) or by an fnmatch pattern (`resnet*`)."""
    return recipe.model == model.qualified_name or fnmatch.fnmatchcase(model.name, recipe.model)


def catalog_paths() -> list[Path]:
    """Extra catalog files named by ZOO_REGISTRY (os.pathsep-separated), in order."""
    raw = os.environ.get("ZOO_REGISTRY", "")
    return [Path(p) for p in raw.split(os.pathsep) if p.strip()]


class Registry:
    """Plugins' specs plus catalog entries, merged; build one with `Registry.load()`."""

    def __init__(self, plugin_set: PluginSet, catalogs: Iterable[tuple[str, object]] = ()) -> None:
        self.plugin_set = plugin_set
        self.models: Namespace[ModelSpec] = Namespace("model")
        self.datasets: Namespace[DatasetSpec] = Namespace("dataset")
        self.recipes: Namespace[RecipeSpec] = Namespace("recipe")
        self.loggers: Namespace[LoggerSpec] = Namespace("logger")
        for spec in BUILTIN_LOGGERS:
            self.loggers.add(spec)
        for plugin in plugin_set.plugins:
            for spec in plugin.models:
                self.models.add(spec)
            for spec in plugin.datasets:
                self.datasets.add(spec)
            for spec in plugin.recipes:
                self.recipes.add(spec)
            for spec in plugin.loggers:
                self.loggers.add(spec)
        for namespace in (self.models, self.datasets, self.recipes, self.loggers):
            for name, specs in sorted(namespace.clashes().items()):
                plugins = " and ".join(f"'{s.plugin}'" for s in specs)
                warn(
                    f"{namespace.kind} '{name}' is registered by plugins {plugins}; "
                    f"use the qualified names ({', '.join(s.qualified_name for s in specs)})."
                )
        self.weights: dict[str, WeightsEntry] = {}
        self._weights_by_model: dict[str, list[WeightsEntry]] = {}
        self._merge_catalogs(catalogs)

    @classmethod
    def load(cls) -> Registry:
        """Discover plugins and read registry.toml, plugins' catalogs, then ZOO_REGISTRY files."""
        plugin_set = discover()
        catalogs: list[tuple[str, object]] = [(str(BUILTIN_CATALOG), BUILTIN_CATALOG)]
        for plugin in plugin_set.plugins:
            catalogs += [(f"{source} (plugin {plugin.name})", source) for source in plugin.catalogs]
        catalogs += [(str(path), path) for path in catalog_paths()]
        return cls(plugin_set, catalogs)

    def _merge_catalogs(self, catalogs: Iterable[tuple[str, object]]) -> None:
        for origin, source in catalogs:
            for entry in load_catalog(source, origin):
                previous = self.weights.get(entry.name)
                if previous is not None:
                    warn(f"catalog entry '{entry.name}' from {entry.origin} overrides the one from {previous.origin}.")
                self.weights[entry.name] = entry
        # With plugins left out or broken, entries for their models are expected to dangle.
        quiet = os.environ.get("ZOO_LOAD_PLUGINS") is not None or any(not p.ok for p in self.plugin_set.plugins)
        for entry in self.weights.values():
            try:
                spec = self.models.get(entry.model)
            except UsageError as exc:
                if not quiet:
                    warn(f"catalog entry '{entry.name}' ({entry.origin}) is skipped: {exc}")
                continue
            self._weights_by_model.setdefault(spec.qualified_name, []).append(entry)

    # Lookups -----------------------------------------------------------------------------------

    def model(self, name: str) -> ModelSpec:
        """The architecture for `name`: a short or qualified model name, or a weights name `arch.tag`."""
        if "." in name:
            return self.models.get(self.weights_entry(name).model)
        return self.models.get(name)

    def weights_for(self, spec: ModelSpec) -> list[WeightsEntry]:
        """The catalog entries of one architecture; the default one first."""
        entries = self._weights_by_model.get(spec.qualified_name, [])
        return sorted(entries, key=lambda e: not e.default)

    def weights_entry(self, name: str) -> WeightsEntry:
        """The catalog entry for `arch.tag`, or the default weights of a bare architecture name."""
        if "." in name:
            entry = self.weights.get(name)
            if entry is None:
                raise UnknownNameError("weights", name, self.weights, "Run 'zoo list --pretrained' to see them.")
            return entry
        spec = self.models.get(name)
        entries = self.weights_for(spec)
        if not entries:
            raise UsageError(
                f"model '{name}' has no pretrained weights in the catalog. "
                "Run 'zoo list --pretrained' to see the models that do."
            )
        return entries[0]

    def list_models(
        self,
        pattern: str = "*",
        task: str | None = None,
        plugin: str | None = None,
        pretrained: bool | None = None,
    ) -> list[ModelSpec]:
        """Architectures matching an fnmatch pattern (on short or qualified name) and the filters."""
        found = []
        for spec in self.models.by_qualified.values():
            if not (fnmatch.fnmatchcase(spec.name, pattern) or fnmatch.fnmatchcase(spec.qualified_name, pattern)):
                continue
            if task is not None and spec.task != task:
                continue
            if plugin is not None and spec.plugin != plugin:
                continue
            if pretrained is not None and bool(self.weights_for(spec)) != pretrained:
                continue
            found.append(spec)
        return sorted(found, key=lambda s: (natural_key(self.models.display_name(s)), s.plugin))

    def recipes_for(self, spec: ModelSpec) -> list[RecipeSpec]:
        return [r for r in self.recipes.by_qualified.values() if recipe_trains(r, spec)]

    def datasets_for(self, spec: ModelSpec) -> list[DatasetSpec]:
        """The dataset adapters of the model's task."""
        return [d for d in self.datasets.by_qualified.values() if d.task == spec.task]


@cache
def get_registry() -> Registry:
    """The registry for this process, loaded on first use (plugins, registry.toml, ZOO_REGISTRY)."""
    return Registry.load()


def reload() -> Registry:
    """Forget the loaded registry (after installing a plugin or changing ZOO_* variables) and load it again."""
    get_registry.cache_clear()
    return get_registry()
