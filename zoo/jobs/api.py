"""The Python API for listing, describing and building models; `import zoo` re-exports it with the rest of the
facade (zoo/__init__.py), and the CLI calls it. No floor below imports it (tests/test_layers.py checks)."""

from __future__ import annotations

from typing import Any

from zoo.core.errors import UsageError
from zoo.plugin.specs import ModelSpec
from zoo.registry.merged import Registry, get_registry
from zoo.registry.param_counts import param_counts

__all__ = ["create_model", "list_models", "list_plugins", "model_info", "model_summaries"]


def list_models(
    pattern: str = "*", task: str | None = None, plugin: str | None = None, pretrained: bool | None = None
) -> list[str]:
    """Model names matching an fnmatch `pattern` and filters; `pretrained=True` keeps those with catalog weights."""
    registry = get_registry()
    return [registry.models.display_name(s) for s in registry.list_models(pattern, task, plugin, pretrained)]


def _params(registry: Registry, specs: list[ModelSpec]) -> dict[str, int | None]:
    return param_counts(specs, {p.name: p.version for p in registry.plugin_set.plugins})


def _summary(registry: Registry, spec: ModelSpec, params: int | None) -> dict[str, Any]:
    return {
        "name": registry.models.display_name(spec),
        "plugin": spec.plugin,
        "task": spec.task,
        "params": params,
        "pretrained": [e.name for e in registry.weights_for(spec)],
        "description": spec.description,
    }


def model_summaries(
    pattern: str = "*", task: str | None = None, plugin: str | None = None, pretrained: bool | None = None
) -> list[dict[str, Any]]:
    """What `zoo list --json` prints: one dict per matching model, with its real parameter count."""
    registry = get_registry()
    specs = registry.list_models(pattern, task, plugin, pretrained)
    counts = _params(registry, specs)
    return [_summary(registry, s, counts[s.qualified_name]) for s in specs]


def model_info(name: str, hub: str | None = None) -> dict[str, Any]:
    """What `zoo info NAME --json` prints: the summary plus datasets, recipes and weights; for a repo id
    `org/name[@rev]`, what the repo is (see `repo_info`), read from `hub`."""
    if "/" in name:
        from zoo.jobs.pretrained import repo_info  # the Hub: not imported by `zoo list` and `zoo info NAME`

        return repo_info(name, hub=hub)
    registry = get_registry()
    spec = registry.model(name)
    info = _summary(registry, spec, _params(registry, [spec])[spec.qualified_name])
    info["qualified_name"] = spec.qualified_name
    info["default_recipe"] = spec.default_recipe
    info["kwargs"] = dict(spec.kwargs)
    info["datasets"] = [registry.datasets.display_name(d) for d in registry.datasets_for(spec)]
    info["recipes"] = [registry.recipes.display_name(r) for r in registry.recipes_for(spec)]
    info["weights"] = [
        {
            "name": e.name,
            "source": e.source,
            "revision": e.revision,
            "pinned": e.pinned,
            "metrics": dict(e.metrics),
            "license": e.license,
            "default": i == 0,
            "description": e.description,
            "origin": e.origin,
            "params": info["params"],  # the architecture's count: these weights fill exactly those
            "preprocessing": dict(e.preprocessing),
        }
        for i, e in enumerate(registry.weights_for(spec))
    ]
    return info


def list_plugins() -> list[dict[str, Any]]:
    """What `zoo plugins --json` prints: every discovered plugin with its status and what it registered."""
    return [
        {
            "name": p.name,
            "version": p.version,
            "distribution": p.distribution,
            "status": p.status,
            "error": p.error,
            "models": [s.name for s in p.models],
            "datasets": [s.name for s in p.datasets],
            "recipes": [s.name for s in p.recipes],
            "loggers": [s.name for s in p.loggers],
        }
        for p in sorted(get_registry().plugin_set.plugins, key=lambda p: p.name)
    ]


def create_model(
    name: str,
    pretrained: bool = False,
    *,
    revision: str | None = None,
    hub: str | None = None,
    allow_pickle: bool = False,
    **kwargs: Any,
) -> Any:
    """Build `name` (a model, `plugin:name`, `arch.tag` or, with pretrained weights, a repo id `org/name`).

    With `pretrained=True` the weights are pulled and verified, the model is built with the arguments its
    config.json records (updated by `kwargs`), and the weights load strictly from safetensors.
    """
    if not pretrained:
        if "/" in name:
            raise UsageError(f"'{name}' is a repo id: pass pretrained=True to build it with its weights")
        return get_registry().model(name).build(**kwargs)
    from zoo.jobs.pretrained import load_pretrained

    model, _ = load_pretrained(name, revision=revision, hub=hub, allow_pickle=allow_pickle, **kwargs)
    return model
