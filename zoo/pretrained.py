"""Pretrained models: pull a catalog name or repo id, build its architecture, load the verified weights."""

from __future__ import annotations

from typing import Any

from zoo.errors import UsageError
from zoo.registry import get_registry


def pretrained_config(pulled: Any) -> tuple[Any, dict[str, Any], Any]:
    """The model spec, run config and tensor converter for pulled weights (a zoo repo, or a claimed one).

    A zoo repo's config.json is that config. A repo in another library's layout (a catalog entry's, or a repo id)
    is read by the plugin that claims it. A catalog entry's preprocessing, when it has one, wins over the claim's:
    the catalog pins the preprocessing its published metrics were measured with.
    """
    from zoo.claims import find_claim
    from zoo.hub import foreign_repo
    from zoo.runs import is_zoo_config

    registry = get_registry()
    if is_zoo_config(pulled.config):
        config = dict(pulled.config)
        return registry.model(config["model"]), config, None
    claimed = pulled.claim or find_claim(foreign_repo(pulled))[0]  # a repo id is always claimed by download()
    if claimed is None:  # a catalog entry whose repo holds the model's own tensors and nothing a plugin reads
        config, convert = {"model_args": {}, "preprocessing": {}}, None
    else:
        config, convert = claimed.run_config(), claimed.converter()
    spec = registry.model(pulled.name or claimed.model)
    pinned = registry.weights_entry(pulled.name).preprocessing if pulled.name is not None else None
    if pinned:
        config["preprocessing"] = dict(pinned)
    return spec, config, convert


def load_pretrained(
    name: str,
    *,
    revision: str | None = None,
    hub: str | None = None,
    allow_pickle: bool = False,
    **kwargs: Any,
) -> tuple[Any, dict[str, Any]]:
    """The pretrained model and its run config (model, model_args, labels, preprocessing, ...)."""
    from zoo.hub import download

    pulled = download(name, revision=revision, hub=hub, allow_pickle=allow_pickle)
    return load_pulled(pulled, allow_pickle, **kwargs)


def load_pulled(pulled: Any, allow_pickle: bool = False, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
    """The model and run config of a repository already pulled (its weights loaded, converted if claimed)."""
    from zoo.weights import load_files, weight_files

    spec, config, convert = pretrained_config(pulled)
    try:
        model = spec.build(**{**config.get("model_args", {}), **kwargs})
    except (TypeError, ValueError) as exc:  # arguments from the repo's config.json, or the caller's
        raise UsageError(f"{pulled.repo_id}: its model_args do not build {spec.name} ({exc})") from None
    files = weight_files(pulled.path, allow_pickle)
    load_files(model, files, f"{spec.qualified_name} ({pulled.repo_id})", convert, allow_pickle)
    return model, {"model": spec.name, **config}


def repo_info(name: str, hub: str | None = None) -> dict[str, Any]:
    """What a Hub repo is (a zoo repo, or one a plugin claims), from its config files, without its weights:
    the zoo model and task, the claim, labels, preprocessing and the parameter count of the model it builds."""
    from dataclasses import replace

    from zoo.hub import download
    from zoo.params import param_counts

    pulled = download(name, hub=hub, metadata_only=True)
    spec, config, _ = pretrained_config(pulled)
    registry = get_registry()
    built = replace(spec, kwargs={**spec.kwargs, **config.get("model_args", {})})
    versions = {p.name: p.version for p in registry.plugin_set.plugins}
    labels = list(config.get("labels") or [])
    return {
        "name": registry.models.display_name(spec),
        "qualified_name": spec.qualified_name,
        "repo_id": pulled.repo_id,
        "revision": pulled.revision,
        "plugin": spec.plugin,
        "task": config.get("task") or spec.task,
        "params": param_counts([built], versions)[spec.qualified_name],
        "model_args": dict(config.get("model_args", {})),
        "claimed": config.get("claimed"),
        "labels": {"count": len(labels), "first": labels[:3]} if labels else _label_set(config),
        "preprocessing": dict(config.get("preprocessing") or {}),
        "metrics": dict(config.get("metrics") or {}),
        "description": spec.description,
        "files": pulled.listed,
    }


def _label_set(config: dict[str, Any]) -> dict[str, Any] | None:
    """A well-known label set a claim names instead of listing it (timm's ImageNet models: "imagenet-1k")."""
    return {"set": config["label_set"]} if isinstance(config.get("label_set"), str) else None
