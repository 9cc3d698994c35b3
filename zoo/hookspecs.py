"""The plugin contract. A plugin implements any of these hooks with `@zoo.hookimpl`.

Each `register_*` hook receives a `register` callback; call it once per thing the plugin provides.
Importing a plugin module must not import torch: put torch imports inside factories.
"""

from __future__ import annotations

from typing import Any

from pluggy import HookimplMarker, HookspecMarker

hookspec = HookspecMarker("zoo")
hookimpl = HookimplMarker("zoo")


@hookspec
def register_models(register: Any) -> None:
    """Register architectures: `register(ModelSpec(...))`."""


@hookspec
def register_datasets(register: Any) -> None:
    """Register dataset adapters: `register(DatasetSpec(...))`."""


@hookspec
def register_recipes(register: Any) -> None:
    """Register training recipes: `register(RecipeSpec(...))`."""


@hookspec
def register_catalog(register: Any) -> None:
    """Register pretrained-weights catalogs: `register(path)`, a TOML file in registry.toml's schema."""


@hookspec
def register_commands(app: Any) -> None:
    """Add commands to the `zoo` CLI; `app` is its Typer application."""
