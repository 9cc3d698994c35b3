"""Pretrained models: pull a catalog name or repo id, build its architecture, load the verified weights."""

from __future__ import annotations

from typing import Any

from zoo.errors import UsageError
from zoo.registry import get_registry


def load_pretrained(
    name: str,
    *,
    revision: str | None = None,
    hub: str | None = None,
    allow_pickle: bool = False,
    **kwargs: Any,
) -> tuple[Any, dict[str, Any]]:
    """The pretrained model and its run config (model, model_args, labels, preprocessing, ...).

    A zoo repo's config.json is that config. Catalog weights in another library's layout go through the
    model's `convert_weights`; the catalog entry's preprocessing fills in what the weights do not say.
    """
    from zoo.hub import download
    from zoo.runs import is_zoo_config
    from zoo.weights import find_weights, load_into, read_state_dict

    registry = get_registry()
    pulled = download(name, revision=revision, hub=hub, allow_pickle=allow_pickle)
    config = dict(pulled.config) if is_zoo_config(pulled.config) else {}
    spec = registry.model(config.get("model") or name)
    state_dict = read_state_dict(find_weights(pulled.path, allow_pickle), allow_pickle)
    convert = spec.weights_converter()
    if not config and convert is not None:
        converted = convert(pulled.path, state_dict, spec)
        config = {**converted.config, "model_args": converted.model_args}
        state_dict = converted.state_dict
    if "preprocessing" not in config and pulled.name is not None:  # bound to the catalog's weights
        config["preprocessing"] = dict(registry.weights_entry(pulled.name).preprocessing)
    try:
        model = spec.build(**{**config.get("model_args", {}), **kwargs})
    except (TypeError, ValueError) as exc:  # arguments from the repo's config.json, or the caller's
        raise UsageError(f"{pulled.repo_id}: its model_args do not build {spec.name} ({exc})") from None
    load_into(model, state_dict, f"{spec.qualified_name} ({pulled.repo_id})")
    return model, {"model": spec.name, **config}
