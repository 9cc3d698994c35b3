"""Pretrained models: pull a catalog name or repo id, build its architecture, load the verified weights; and the
`PretrainedWeights` service that zoo hands every recipe it builds (`Recipe.pretrained`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from zoo.hub.pull import PullResult, download
from zoo.jobs.model_source import build_and_load, from_pulled, pretrained_config
from zoo.plugin.specs import ModelSpec
from zoo.plugin.weights_entry import WeightsEntry
from zoo.registry.merged import get_registry
from zoo.registry.param_counts import param_counts


def load_pretrained(
    name: str,
    *,
    revision: str | None = None,
    hub: str | None = None,
    allow_pickle: bool = False,
    **kwargs: Any,
) -> tuple[Any, dict[str, Any]]:
    """The pretrained model and its run config (model, model_args, labels, preprocessing, ...)."""
    pulled = download(name, revision=revision, hub=hub, allow_pickle=allow_pickle)
    return load_pulled(pulled, allow_pickle, **kwargs)


def load_pulled(pulled: PullResult, allow_pickle: bool = False, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
    """The model and run config of a repository already pulled (its weights loaded, converted if claimed)."""
    source = from_pulled(pulled, allow_pickle)
    return build_and_load(source, **kwargs), {"model": source.spec.name, **source.config}


class Pretrained:
    """The catalog and the Hub as a recipe asks for them (zoo.plugin.PretrainedWeights)."""

    def entry(self, name: str) -> WeightsEntry:
        return get_registry().weights_entry(name)

    def entries(self, model: ModelSpec) -> list[WeightsEntry]:
        return get_registry().weights_for(model)

    def load(self, name: str, *, hub: str | None = None, **model_args: Any) -> tuple[Any, dict[str, Any]]:
        return load_pretrained(name, hub=hub, **model_args)


def repo_info(name: str, hub: str | None = None) -> dict[str, Any]:
    """What a Hub repo is (a zoo repo, or one a plugin claims), from its config files, without its weights:
    the zoo model and task, the claim, labels, preprocessing and the parameter count of the model it builds."""
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
