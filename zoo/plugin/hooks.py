"""The plugin contract. A plugin implements any of these hooks with `@hookimpl` (from zoo.plugin).

Each `register_*` hook receives a `register` callback; call it once per thing the plugin provides.
Importing a plugin module must not import torch: put torch imports inside factories.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from pluggy import HookimplMarker, HookspecMarker

if TYPE_CHECKING:
    import typer

    from zoo.plugin.claims import Claim, ForeignRepo
    from zoo.plugin.specs import DatasetSpec, LoggerSpec, ModelSpec, RecipeSpec

hookspec = HookspecMarker("zoo")
hookimpl = HookimplMarker("zoo")


@hookspec
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register architectures: `register(ModelSpec(...))`."""


@hookspec
def register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register dataset adapters: `register(DatasetSpec(...))`."""


@hookspec
def register_recipes(register: Callable[[RecipeSpec], None]) -> None:
    """Register training recipes: `register(RecipeSpec(...))`."""


@hookspec
def register_loggers(register: Callable[[LoggerSpec], None]) -> None:
    """Register training loggers: `register(LoggerSpec(...))`; `zoo train --logger NAME` (or ZOO_LOGGERS) uses one."""


@hookspec
def register_catalog(register: Callable[[str | os.PathLike[str]], None]) -> None:
    """Register pretrained-weights catalogs: `register(path)`, a TOML file in registry.toml's schema."""


@hookspec
def register_commands(app: typer.Typer) -> None:
    """Add commands to the `zoo` CLI; `app` is its Typer application."""


@hookspec(firstresult=True)
def claim_repo(repo: ForeignRepo) -> Claim | None:
    """Claim a Hub repository saved by another library: return a `Claim` (the zoo model, its arguments, labels,
    preprocessing and tensor renaming) when this plugin can load it, else None. Must not import torch.

    zoo asks the plugins in entry-point order and takes the first claim; a repo published by zoo is never asked.
    Raise UsageError for a repo the plugin recognises but cannot load, saying why.
    """


#: every hook of the contract, in the order above
HOOK_NAMES: tuple[str, ...] = tuple(name for name, value in list(globals().items()) if hasattr(value, "zoo_spec"))
