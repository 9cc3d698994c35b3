"""`zoo train` / `zoo.train`: a model, its recipe and dataset resolved once into a job, trained in this process or,
with `--nproc`/`--nnodes`, by torchrun workers that receive the job whole (zoo.jobs.launch, zoo.jobs.worker)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.core.errors import UsageError, ZooError
from zoo.hub.datasets import is_hub_uri
from zoo.jobs import loggers as training_loggers
from zoo.jobs.pretrained import Pretrained
from zoo.plugin.config import TrainConfig
from zoo.plugin.hubdata import HubSource
from zoo.plugin.recipe import Recipe
from zoo.plugin.specs import DatasetSpec, LoggerSpec, ModelSpec, RecipeSpec
from zoo.registry.merged import get_registry, recipe_trains
from zoo.store import run_folder


def resolve(model: str, recipe: str | None = None, dataset: str | None = None) -> tuple[Any, Any, Any]:
    """The model, recipe and dataset specs for a training job; the recipe defaults to the model's own."""
    registry = get_registry()
    mspec = registry.model(model)
    if recipe is not None:
        rspec = registry.recipes.get(recipe)
        if not recipe_trains(rspec, mspec):
            raise UsageError(
                f"recipe '{recipe}' trains '{rspec.model}', not '{mspec.name}'. "
                f"Recipes for {mspec.name}: {_names(registry.recipes_for(mspec))}"
            )
    else:
        candidates = registry.recipes_for(mspec)
        if mspec.default_recipe:
            rspec = registry.recipes.get(mspec.default_recipe)
        elif len(candidates) == 1:
            rspec = candidates[0]
        elif not candidates:
            raise UsageError(
                f"no plugin provides a training recipe for '{mspec.name}' yet. "
                "Run 'zoo info' on it, or install a plugin that does."
            )
        else:
            raise UsageError(f"'{mspec.name}' has several recipes: pass --recipe, one of {_names(candidates)}")
    dspec = registry.datasets.get(dataset or rspec.dataset)
    if dspec.task != mspec.task:
        raise UsageError(
            f"dataset '{dspec.name}' is for {dspec.task}, but '{mspec.name}' does {mspec.task}. "
            f"Datasets for it: {_names(registry.datasets_for(mspec))}"
        )
    return mspec, rspec, dspec


def _names(specs: list[Any]) -> str:
    return ", ".join(s.name for s in specs) or "none"


def recipe_class(rspec: RecipeSpec) -> type[Recipe]:
    """The recipe's Recipe subclass (its factory)."""
    cls = rspec.resolve_factory()
    if not (isinstance(cls, type) and issubclass(cls, Recipe)):
        raise ZooError(f"recipe '{rspec.qualified_name}': its factory must be a zoo.plugin.Recipe subclass")
    return cls


def make_recipe(rspec: Any, mspec: Any, dspec: Any, config: TrainConfig, data_dir: Path | HubSource | None) -> Recipe:
    """The recipe object for a run, with zoo's pretrained-weights service."""
    return recipe_class(rspec)(
        config, model_spec=mspec, dataset_spec=dspec, data_dir=data_dir, recipe_spec=rspec, pretrained=Pretrained()
    )


def settings(rspec: RecipeSpec, flags: dict[str, Any], sets: dict[str, Any]) -> TrainConfig:
    """The run's settings: the recipe's defaults for the device the flags ask for, then the flags and `--set`."""
    from zoo.engine.device import device_kind
    from zoo.engine.settings import build_config

    return build_config(rspec.defaults(device_kind(flags.get("device"))), flags, sets, rspec.limits)


def default_out(model: str, dataset: str) -> Path:
    """runs/MODEL-DATASET, or runs/MODEL-DATASET-2, ... when that exists: the folder names what it trained."""
    base = Path("runs") / f"{model}-{dataset}"
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


@dataclass
class TrainJob:
    """A training job resolved once: what the worker processes of a distributed run receive whole (as JSON)."""

    #: qualified names of the model, recipe and dataset
    model: str
    recipe: str
    dataset: str
    data_dir: str | None
    #: the run's settings, built and checked: TrainConfig's fields and the recipe's options
    settings: dict[str, Any]
    #: what the user set (flags and --set), recorded in config.json
    overrides: dict[str, Any]
    out: str
    resume: bool = False
    quiet: bool = False
    #: qualified names of the training loggers
    loggers: list[str] = field(default_factory=list)
    #: zoo reproduce: refuse data with another fingerprint
    expected_fingerprint: str | None = None
    #: a Hub dataset repo, pulled and verified by the launching process (HubSource.to_json); data_dir is its URI
    data_source: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainJob:
        return cls(**data)


def train(
    model: str,
    *,
    recipe: str | None = None,
    dataset: str | None = None,
    data_dir: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    device: str | None = None,
    precision: str | None = None,
    compile: bool | None = None,
    seed: int | None = None,
    checkpoint_every: int | None = None,
    sets: dict[str, Any] | None = None,
    out: str | os.PathLike[str] | None = None,
    resume: bool = False,
    quiet: bool = False,
    nproc: int = 1,
    nnodes: int = 1,
    node_rank: int = 0,
    rdzv_endpoint: str | None = None,
    loggers: list[str] | None = None,
    expected_fingerprint: str | None = None,
    hub: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Train `model` with its recipe into a run folder; returns the `zoo train --json` summary.

    `data_dir` is a folder or a Hub dataset repo, `hf://datasets/ORG/NAME[@REV]` (on `hub`, default HF_ENDPOINT).
    `loggers` names training loggers (default: ZOO_LOGGERS); `expected_fingerprint` refuses data other than that
    (zoo reproduce).
    """
    from zoo.engine.device import Dist, choose_device
    from zoo.jobs.data_source import open_data_dir

    mspec, rspec, dspec = resolve(model, recipe, dataset)
    flags = {
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "device": device,
        "precision": precision,
        "compile": compile,
        "seed": seed,
        "checkpoint_every": checkpoint_every,
    }
    sets = dict(sets or {})
    config = settings(rspec, flags, sets)
    chosen = choose_device(config.device, Dist())  # the one choice; this process trains on it
    _check_settings(rspec, config, chosen, data_dir)
    _check_processes(nproc, nnodes, node_rank, rdzv_endpoint, chosen.type)
    logger_specs = training_loggers.check(training_loggers.requested(loggers))
    out = Path(out) if out is not None else default_out(mspec.name, dspec.name)
    run_folder.check_out_folder(out, get_registry().recipes.get)
    source = open_data_dir(data_dir, hub)
    hub_source = source if isinstance(source, HubSource) else None
    job = TrainJob(
        model=mspec.qualified_name,
        recipe=rspec.qualified_name,
        dataset=dspec.qualified_name,
        data_dir=hub_source.uri if hub_source else None if data_dir is None else str(data_dir),
        data_source=hub_source.to_json() if hub_source else None,
        settings=dataclasses.asdict(config),
        overrides={k: v for k, v in {**flags, **sets}.items() if v is not None},
        out=str(out),
        resume=resume,
        quiet=quiet,
        loggers=[s.qualified_name for s in logger_specs],
        expected_fingerprint=expected_fingerprint,
    )
    existed = out.exists()
    try:
        if nproc > 1 or nnodes > 1:
            from zoo.jobs.launch import launch

            return launch(job, nproc, nnodes, node_rank, rdzv_endpoint)
        return run(job, Dist(), (mspec, rspec, dspec), config, logger_specs, chosen)
    except BaseException:
        run_folder.discard_unfinished(out, existed)
        raise


def _check_settings(rspec: RecipeSpec, config: TrainConfig, device: Any, data_dir: str | None) -> None:
    """What the engine can refuse before any work: the recipe's own checks, precision, the metric, paths."""
    from zoo.engine.device import choose_precision

    recipe_class(rspec).check_settings(config)
    choose_precision(config.precision, device)
    metric = config.best_metric.removeprefix("-")  # "-rmse": lower is better
    if config.best_metric and (not metric or (rspec.metrics and metric not in rspec.metrics)):
        raise UsageError(
            f"best_metric must name a metric of recipe '{rspec.name}' ({', '.join(rspec.metrics)}), with a leading "
            f"'-' when lower is better; got {config.best_metric!r}"
        )
    if data_dir is not None and not is_hub_uri(str(data_dir)) and not Path(data_dir).exists():
        raise UsageError(f"--data-dir {data_dir} does not exist")


def process_slots(kind: str) -> tuple[int, str]:
    """How many processes `--nproc` may start here for a device kind ('cuda', 'cpu', ...), and what each runs on."""
    import torch

    if kind == "cuda":
        return torch.cuda.device_count(), "GPUs"
    return os.cpu_count() or 1, "CPU cores"


def _check_processes(nproc: int, nnodes: int, node_rank: int, rdzv_endpoint: str | None, kind: str) -> None:
    if nproc < 1 or nnodes < 1:
        raise UsageError("--nproc and --nnodes must be at least 1")
    available, what = process_slots(kind)
    if nproc > available:
        raise UsageError(f"--nproc {nproc} is more than the {available} {what} here.")
    if nnodes > 1 and not rdzv_endpoint:
        raise UsageError("--nnodes > 1 needs --rdzv-endpoint HOST:PORT (and --node-rank on each machine)")
    if not 0 <= node_rank < nnodes:
        raise UsageError(f"--node-rank must be in 0..{nnodes - 1}, got {node_rank}")


def run(
    job: TrainJob,
    dist: Any,
    specs: tuple[ModelSpec, RecipeSpec, DatasetSpec] | None = None,
    config: TrainConfig | None = None,
    logger_specs: list[LoggerSpec] | None = None,
    device: Any = None,
) -> dict[str, Any]:
    """Train a job in this process (rank `dist.rank` of a distributed job, or alone). A torchrun worker passes the
    job alone: its specs are looked up by their qualified names and its settings taken as they are."""
    from zoo.engine.trainer import RunInfo, Trainer

    registry = get_registry()
    if specs is None:
        specs = registry.models.get(job.model), registry.recipes.get(job.recipe), registry.datasets.get(job.dataset)
    if config is None:
        config = TrainConfig(**job.settings)
    if logger_specs is None:
        logger_specs = [registry.loggers.get(name) for name in job.loggers]
    mspec, rspec, dspec = specs
    data_dir = HubSource.from_json(job.data_source) if job.data_source else Path(job.data_dir) if job.data_dir else None
    recipe = make_recipe(rspec, mspec, dspec, config, data_dir)
    plugin = registry.plugin_set.get(mspec.plugin)
    info = RunInfo(
        model=mspec.name,
        recipe=rspec.name,
        dataset=dspec.name,
        plugin=mspec.plugin,
        plugin_version=plugin.version if plugin else None,
        task=mspec.task,
        overrides=job.overrides,
    )
    return Trainer(
        recipe,
        info,
        Path(job.out),
        resume=job.resume,
        quiet=job.quiet,
        dist=dist,
        loggers=logger_specs,
        expected_fingerprint=job.expected_fingerprint,
        device=device,
    ).fit()
