"""A model to load with its weights, from a run folder or a pulled repository: both are read into a `ModelSource`
and loaded through one function (`build_and_load`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.core.errors import UsageError, ZooError
from zoo.core.schema import DocumentError
from zoo.hub.pull import PullResult, foreign_repo
from zoo.plugin.claims import header_shapes, meta_misfit
from zoo.plugin.specs import ModelSpec
from zoo.registry.claims import find_claim
from zoo.registry.merged import get_registry
from zoo.store import layout
from zoo.store.run_folder import check_run_config, is_zoo_config, read_config
from zoo.store.weights import load_files, weight_files


@dataclass(frozen=True)
class ModelSource:
    """What it takes to build a model and load its weights, wherever they come from."""

    spec: ModelSpec
    #: the run config: a zoo run's or repo's config.json, or what a plugin's claim makes of a foreign repo
    config: dict[str, Any]
    #: the run folder or the pulled repository's snapshot (its data/ side files are there)
    folder: Path
    weights: list[Path]
    #: renames a foreign repo's tensors to the model's (a claim's converter); None when they already match
    convert: Callable[[dict[str, Any]], dict[str, Any]] | None
    #: the model and where it comes from, for error messages
    what: str
    #: what to say when the config's model_args do not build the model
    bad_args: str
    allow_pickle: bool = False

    @property
    def model_args(self) -> dict[str, Any]:
        return dict(self.config.get("model_args", {}))


def from_run_folder(folder: str | Path) -> ModelSource:
    """A run folder `zoo train` wrote (its config.json checked as evaluation and prediction need it)."""
    folder = Path(folder)
    registry = get_registry()
    config = read_config(folder, registry.recipes.get)
    spec = registry.model(config["model"])
    return ModelSource(
        spec=spec,
        config=config,
        folder=folder,
        weights=[folder / layout.WEIGHTS],
        convert=None,
        what=f"{spec.name} ({folder})",
        bad_args=f"{folder / layout.CONFIG}: its model_args do not build {spec.name} ({{error}}). "
        "Restore the file 'zoo train' wrote.",
    )


def from_pulled(pulled: PullResult, allow_pickle: bool = False) -> ModelSource:
    """A pulled repository: a zoo repo, or another library's that a plugin claims."""
    spec, config, convert = pretrained_config(pulled)
    return ModelSource(
        spec=spec,
        config=config,
        folder=pulled.path,
        weights=weight_files(pulled.path, allow_pickle),
        convert=convert,
        what=f"{spec.qualified_name} ({pulled.repo_id})",
        bad_args=f"{pulled.repo_id}: its model_args do not build {spec.name} ({{error}})",
        allow_pickle=allow_pickle,
    )


def pretrained_config(pulled: PullResult) -> tuple[ModelSpec, dict[str, Any], Any]:
    """The model spec, run config and tensor converter for pulled weights (a zoo repo, or a claimed one).

    A zoo repo's config.json is that config, checked as a run folder's is. A repo in another library's layout (a
    catalog entry's, or a repo id) is read by the plugin that claims it. A catalog entry's preprocessing, when it
    has one, wins over the claim's: the catalog pins the preprocessing its published metrics were measured with.
    """
    registry = get_registry()
    if is_zoo_config(pulled.config):
        config = dict(check_run_config(pulled.config, f"{layout.CONFIG} of {pulled.repo_id}", registry.recipes.get))
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


def build_and_load(source: ModelSource, build: Callable[[dict[str, Any]], Any] | None = None, **overrides: Any) -> Any:
    """Build the model from the source's model_args updated by `overrides` (with `build(args)`: a recipe's
    inference_model; by default the spec's factory), and load its weights strictly, file by file."""
    args = {**source.model_args, **overrides}

    def make() -> Any:
        return build(args) if build is not None else source.spec.build(**args)

    asked = "its model_args" + "".join(f", {key}={value!r}" for key, value in overrides.items())
    check_fits(source, make, asked)
    try:
        model = make()
    except (TypeError, ValueError) as exc:  # arguments from a config.json, or the caller's
        raise UsageError(source.bad_args.format(error=exc)) from None
    return load_files(model, source.weights, source.what, source.convert, source.allow_pickle)


def check_fits(source: ModelSource, make: Callable[[], Any], asked: str = "its model_args") -> None:
    """Refuse model_args that describe more than the weights hold before anything is allocated: the model built
    on torch's meta device against the safetensors headers' shapes (pickle weights are checked as they load)."""
    if not source.weights or any(path.suffix != ".safetensors" for path in source.weights):
        return
    shapes: dict[str, tuple[int, ...]] = {}
    try:
        for path in source.weights:
            shapes.update(header_shapes(path, f"{path.name} of {source.what}"))
    except DocumentError:
        return  # a damaged file: loading it names it as the store's reader does
    source.spec.resolve_factory()  # imported outside the meta device: what its module makes at import stays real
    try:
        misfit = meta_misfit(make, shapes, source.convert)
    except ZooError:
        raise
    except (TypeError, ValueError) as exc:
        raise UsageError(source.bad_args.format(error=exc)) from None
    except Exception:  # a model that cannot be built on the meta device is checked as it loads
        return
    if misfit:
        raise UsageError(
            f"{source.what}: the model {asked} describe does not fit its weights, so nothing was built: {misfit}. "
            "Use the config.json saved with these weights, or weights of this architecture."
        )
