"""zoo: a plugin-based model zoo for PyTorch.

`import zoo` is cheap: the API below is imported on first use, and torch only when a model is built.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from zoo.hookspecs import hookimpl

__version__ = "0.1.0"

_API = {
    "list_models": "zoo.api",
    "model_summaries": "zoo.api",
    "model_info": "zoo.api",
    "list_plugins": "zoo.api",
    "create_model": "zoo.api",
    "load_pretrained": "zoo.pretrained",
    "get_registry": "zoo.registry",
    "reload": "zoo.registry",
    "ModelSpec": "zoo.specs",
    "DatasetSpec": "zoo.specs",
    "RecipeSpec": "zoo.specs",
    "ZooError": "zoo.errors",
    "UsageError": "zoo.errors",
    "pull": "zoo.hub",
    "publish": "zoo.publishing",
    "pin": "zoo.hub",
    "search": "zoo.hub_search",
    "train": "zoo.engine.run",
    "evaluate": "zoo.engine.run",
    "predict": "zoo.engine.run",
    "list_runs": "zoo.run_index",
    "show_run": "zoo.run_index",
    "reproduce": "zoo.reproduction",
}

__all__ = [
    "DatasetSpec",
    "ModelSpec",
    "RecipeSpec",
    "UsageError",
    "ZooError",
    "__version__",
    "create_model",
    "evaluate",
    "get_registry",
    "hookimpl",
    "list_models",
    "list_plugins",
    "list_runs",
    "load_pretrained",
    "model_info",
    "model_summaries",
    "pin",
    "predict",
    "publish",
    "pull",
    "reload",
    "reproduce",
    "search",
    "show_run",
    "train",
]

if TYPE_CHECKING:
    from zoo.api import create_model, list_models, list_plugins, model_info, model_summaries
    from zoo.engine.run import evaluate, predict, train
    from zoo.errors import UsageError, ZooError
    from zoo.hub import pin, pull
    from zoo.hub_search import search
    from zoo.pretrained import load_pretrained
    from zoo.publishing import publish
    from zoo.registry import get_registry, reload
    from zoo.reproduction import reproduce
    from zoo.run_index import list_runs, show_run
    from zoo.specs import DatasetSpec, ModelSpec, RecipeSpec


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
