"""zoo: a plugin-based model zoo for PyTorch.

`import zoo` is cheap: the API below is imported from its floor on first use, and torch only when a model is built.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from zoo._version import __version__
from zoo.plugin.hooks import hookimpl

_API = {
    "list_models": "zoo.jobs.api",
    "model_summaries": "zoo.jobs.api",
    "model_info": "zoo.jobs.api",
    "list_plugins": "zoo.jobs.api",
    "create_model": "zoo.jobs.api",
    "load_pretrained": "zoo.jobs.pretrained",
    "get_registry": "zoo.registry.merged",
    "reload": "zoo.registry.merged",
    "ModelSpec": "zoo.plugin.specs",
    "DatasetSpec": "zoo.plugin.specs",
    "RecipeSpec": "zoo.plugin.specs",
    "ZooError": "zoo.core.errors",
    "UsageError": "zoo.core.errors",
    "pull": "zoo.hub.pull",
    "publish": "zoo.jobs.publishing",
    "export": "zoo.jobs.export",
    "serve": "zoo.jobs.serve",
    "pin": "zoo.hub.pin",
    "search": "zoo.hub.search",
    "train": "zoo.jobs.train",
    "evaluate": "zoo.jobs.inference",
    "predict": "zoo.jobs.inference",
    "list_runs": "zoo.jobs.runs_listing",
    "show_run": "zoo.jobs.runs_listing",
    "reproduce": "zoo.jobs.reproduce",
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
    "export",
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
    "serve",
    "show_run",
    "train",
]

if TYPE_CHECKING:
    from zoo.core.errors import UsageError, ZooError
    from zoo.hub.pin import pin
    from zoo.hub.pull import pull
    from zoo.hub.search import search
    from zoo.jobs.api import create_model, list_models, list_plugins, model_info, model_summaries
    from zoo.jobs.export import export
    from zoo.jobs.inference import evaluate, predict
    from zoo.jobs.pretrained import load_pretrained
    from zoo.jobs.publishing import publish
    from zoo.jobs.reproduce import reproduce
    from zoo.jobs.runs_listing import list_runs, show_run
    from zoo.jobs.serve import serve
    from zoo.jobs.train import train
    from zoo.plugin.specs import DatasetSpec, ModelSpec, RecipeSpec
    from zoo.registry.merged import get_registry, reload


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")
