"""The public training API: `zoo.train`, `zoo.evaluate`, `zoo.predict`; `--nproc`/`--nnodes` launch torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from zoo import runs
from zoo.atomic import write_text
from zoo.errors import UsageError, ZooError
from zoo.pretrained import load_pulled
from zoo.registry import get_registry, recipe_trains

DISTRIBUTED_KEYS = ("nproc", "nnodes", "node_rank", "rdzv_endpoint")


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


def recipe_class(rspec: Any) -> Any:
    """The recipe's Recipe subclass (its factory)."""
    from zoo.engine.recipe import Recipe

    cls = rspec.resolve_factory()
    if not (isinstance(cls, type) and issubclass(cls, Recipe)):
        raise ZooError(f"recipe '{rspec.qualified_name}': its factory must be a zoo.engine.Recipe subclass")
    return cls


def make_recipe(rspec: Any, mspec: Any, dspec: Any, config: Any, data_dir: Path | None) -> Any:
    return recipe_class(rspec)(config, model_spec=mspec, dataset_spec=dspec, data_dir=data_dir, recipe_spec=rspec)


def _device_kind(requested: str | None) -> str:
    import torch

    if requested in (None, "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    return requested


def _config(rspec: Any, flags: dict[str, Any], sets: dict[str, Any]) -> Any:
    from zoo.engine.config import build_config

    return build_config(rspec.defaults(_device_kind(flags.get("device"))), flags, sets, rspec.limits)


def _default_out(recipe_name: str) -> Path:
    base = Path("runs") / recipe_name
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


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
) -> dict[str, Any]:
    """Train `model` with its recipe into a run folder; returns the `zoo train --json` summary.

    `loggers` names training loggers (default: ZOO_LOGGERS); `expected_fingerprint` refuses data other than that
    (zoo reproduce).
    """
    from zoo.engine import loggers as training_loggers
    from zoo.engine.device import Dist

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
    config = _config(rspec, flags, dict(sets or {}))
    _check_settings(rspec, config, data_dir)
    _check_processes(nproc, nnodes, node_rank, rdzv_endpoint, config.device)
    logger_names = training_loggers.check(training_loggers.requested(loggers))
    out = Path(out) if out is not None else _default_out(rspec.name)
    runs.check_out_folder(out)
    job = {
        "model": mspec.qualified_name,
        "recipe": rspec.qualified_name,
        "dataset": dspec.qualified_name,
        "data_dir": data_dir,
        "flags": flags,
        "sets": dict(sets or {}),
        "out": str(out),
        "resume": resume,
        "quiet": quiet,
        "loggers": logger_names,
        "expected_fingerprint": expected_fingerprint,
    }
    existed = out.exists()
    try:
        if nproc > 1 or nnodes > 1:
            return _launch(job, nproc, nnodes, node_rank, rdzv_endpoint)
        return run_job(job, Dist())
    except BaseException:
        runs.discard_unfinished(out, existed)
        raise


def _check_settings(rspec: Any, config: Any, data_dir: str | None) -> None:
    """What the engine can refuse before any work: the recipe's own checks, device and precision, the metric, paths."""
    from zoo.engine.device import Dist, choose_device, choose_precision

    recipe_class(rspec).check_settings(config)
    choose_precision(config.precision, choose_device(config.device, Dist()))
    metric = config.best_metric.lstrip("-")
    if metric and rspec.metrics and metric not in rspec.metrics:
        raise UsageError(f"best_metric '{metric}' is not a metric of recipe '{rspec.name}': {', '.join(rspec.metrics)}")
    if data_dir is not None and not Path(data_dir).exists():
        raise UsageError(f"--data-dir {data_dir} does not exist")


def process_slots(device: str | None) -> tuple[int, str]:
    """How many processes `--nproc` may start here for a device setting, and what each runs on."""
    import torch

    if _device_kind(device) == "cuda":
        return torch.cuda.device_count(), "GPUs"
    return os.cpu_count() or 1, "CPU cores"


def _check_processes(nproc: int, nnodes: int, node_rank: int, rdzv_endpoint: str | None, device: str) -> None:
    if nproc < 1 or nnodes < 1:
        raise UsageError("--nproc and --nnodes must be at least 1")
    available, what = process_slots(device)
    if nproc > available:
        raise UsageError(f"--nproc {nproc} is more than the {available} {what} here.")
    if nnodes > 1 and not rdzv_endpoint:
        raise UsageError("--nnodes > 1 needs --rdzv-endpoint HOST:PORT (and --node-rank on each machine)")
    if not 0 <= node_rank < nnodes:
        raise UsageError(f"--node-rank must be in 0..{nnodes - 1}, got {node_rank}")


def run_job(job: dict[str, Any], dist: Any) -> dict[str, Any]:
    """Train one job in this process (rank `dist.rank` of a distributed job, or alone)."""
    from zoo.engine.trainer import RunInfo, Trainer

    mspec, rspec, dspec = resolve(job["model"], job["recipe"], job["dataset"])
    config = _config(rspec, job["flags"], job["sets"])
    recipe = make_recipe(rspec, mspec, dspec, config, Path(job["data_dir"]) if job["data_dir"] else None)
    plugin = get_registry().plugin_set.get(mspec.plugin)
    overrides = {k: v for k, v in {**job["flags"], **job["sets"]}.items() if v is not None}
    info = RunInfo(
        model=mspec.name,
        recipe=rspec.name,
        dataset=dspec.name,
        plugin=mspec.plugin,
        plugin_version=plugin.version if plugin else None,
        task=mspec.task,
        overrides=overrides,
    )
    return Trainer(
        recipe,
        info,
        Path(job["out"]),
        resume=job["resume"],
        quiet=job["quiet"],
        dist=dist,
        loggers=job.get("loggers", ()),
        expected_fingerprint=job.get("expected_fingerprint"),
    ).fit()


def _launch(job: dict[str, Any], nproc: int, nnodes: int, node_rank: int, rdzv: str | None) -> dict[str, Any]:
    """Run the job under torchrun (torch.distributed.run): one process per device, DDP inside."""
    out = Path(job["out"])
    out.mkdir(parents=True, exist_ok=True)
    job_file = write_text(out / runs.JOB, json.dumps(job))
    result_file = out / runs.RESULT
    result_file.unlink(missing_ok=True)
    for stale in runs.error_files(out):
        stale.unlink()
    command = [sys.executable, "-m", "zoo.engine.torchrun", f"--nproc-per-node={nproc}"]
    if nnodes > 1:
        command += [f"--nnodes={nnodes}", f"--node-rank={node_rank}", "--rdzv-backend=c10d", f"--rdzv-endpoint={rdzv}"]
    else:
        command += ["--standalone"]
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    env["ZOO_TORCHRUN_LOG"] = str(out / runs.LOG)
    proc = subprocess.run([*command, "-m", "zoo.engine.worker", str(job_file)], env=env, check=False)
    if proc.returncode != 0:
        raise _first_failure(out, proc.returncode)
    if node_rank != 0:
        return {"run_dir": str(out), "node_rank": node_rank}
    return json.loads(result_file.read_text("utf-8"))


def _first_failure(out: Path, returncode: int) -> ZooError:
    """The error of the rank that failed first (the others usually fail because it did), with the log's path."""
    errors = []
    for path in runs.error_files(out):
        try:
            errors.append(json.loads(path.read_text("utf-8")))
        except (OSError, ValueError):
            continue
    log = out / runs.LOG
    if not errors:
        return ZooError(f"distributed training failed (torchrun exit {returncode}); see {log}")
    first = min(errors, key=lambda e: e.get("time", 0))
    message = f"{first.get('message')} (rank {first.get('rank')}; log: {log})"
    error = UsageError(message) if first.get("exit_code") == 2 else ZooError(message)
    error.exit_code = int(first.get("exit_code") or 1)
    return error


# Inference ----------------------------------------------------------------------------------------------------


def load_for_inference(
    target: str,
    dataset: str | None = None,
    data_dir: str | None = None,
    device: str | None = None,
    hub: str | None = None,
    allow_pickle: bool = False,
) -> tuple[Any, Any, dict[str, Any]]:
    """(recipe, model, run config) for a run folder or a pretrained model name."""
    from zoo.hub import download
    from zoo.weights import load_into

    registry = get_registry()
    flags = {"device": device}
    if Path(target).is_dir():
        config = runs.read_config(target)
        mspec, rspec, dspec = resolve(config["model"], config["recipe"], dataset or _dataset_of(config))
        recipe = make_recipe(rspec, mspec, dspec, _config(rspec, flags, {}), Path(data_dir) if data_dir else None)
        try:
            model = recipe.inference_model(config.get("model_args", {}))
        except (TypeError, ValueError) as exc:  # model_args that a damaged or edited config.json holds
            raise UsageError(
                f"{Path(target) / runs.CONFIG}: its model_args do not build {mspec.name} ({exc}). "
                "Restore the file 'zoo train' wrote."
            ) from None
        load_into(model, runs.read_weights(target), f"{mspec.name} ({target})")
        folder = Path(target)
    else:
        pulled = download(target, hub=hub, allow_pickle=allow_pickle)
        model, config = load_pulled(pulled, allow_pickle)
        folder = pulled.path
        mspec, rspec, dspec = resolve(
            registry.model(config["model"]).qualified_name, config.get("recipe"), dataset or _dataset_of(config)
        )
        recipe = make_recipe(rspec, mspec, dspec, _config(rspec, flags, {}), Path(data_dir) if data_dir else None)
        config = {"recipe": rspec.name, **config}
    from zoo.engine.device import Dist, choose_device

    recipe.run_config, recipe.run_folder = config, folder
    return recipe, model.to(choose_device(recipe.config.device, Dist())).eval(), config


def _dataset_of(config: dict[str, Any]) -> str | None:
    from zoo.card import dataset_name

    return dataset_name(config)


def evaluate(
    target: str,
    dataset: str | None = None,
    data_dir: str | None = None,
    device: str | None = None,
    hub: str | None = None,
) -> dict[str, Any]:
    """`zoo eval`: the recipe's metrics for a run folder or pretrained model on a dataset's validation split."""
    from zoo.engine.evaluation import eval_loader, evaluate_model

    recipe, model, _ = load_for_inference(target, dataset, data_dir, device, hub)
    data = recipe.build_data()
    split = data.val if data.val is not None else data.train
    loader = eval_loader(split, recipe.config.batch_size, data.collate)
    metrics = evaluate_model(recipe, model, loader)
    return {"model": target, "dataset": recipe.dataset_spec.name, "metrics": metrics}


def predict(
    target: str,
    inputs: list[str],
    top: int = 5,
    device: str | None = None,
    hub: str | None = None,
    allow_pickle: bool = False,
) -> list[dict[str, Any]]:
    """`zoo predict`: one output per input, as the model's task renders it."""
    if top < 1:
        raise UsageError(f"--top must be at least 1, got {top}")
    recipe, model, config = load_for_inference(target, device=device, hub=hub, allow_pickle=allow_pickle)
    import torch

    with torch.no_grad():
        outputs = recipe.predict(model, list(inputs), top, config)
    if len(outputs) != len(inputs):
        raise ZooError(
            f"recipe '{recipe.recipe_spec.qualified_name}' returned {len(outputs)} outputs for {len(inputs)} inputs: "
            "its predict must return one per input (report this to the plugin's authors)"
        )
    return [{"input": i, "output": o} for i, o in zip(inputs, outputs, strict=True)]
