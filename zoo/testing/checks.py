"""The conformance checks of a plugin as a whole: it loads, imports no torch, registers sound specs, builds its
models, reads its samples, names real models in its catalog, claims only its own repos, and its loggers take a run."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from zoo.core.child_process import child_env
from zoo.core.errors import UsageError
from zoo.testing.report import CheckFailed, describe_error


def loads(info: Any) -> None:
    if not info.ok:
        raise CheckFailed(info.error or "it failed to load", "fix that error; ZOO_STRICT_PLUGINS=1 shows the traceback")


def _entry_point(plugin: str) -> Any:
    from importlib import metadata

    for ep in metadata.entry_points(group="zoo"):
        if ep.name == plugin:
            return ep
    raise CheckFailed(f"no entry point named '{plugin}' in group 'zoo'", "install the plugin (pip install -e .)")


def no_torch_on_import(plugin: str) -> None:
    ep = _entry_point(plugin)
    proc = _child("zoo.testing.import_probe", plugin)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise CheckFailed(
            f"importing the entry point '{ep.value}' fails: {last}", "make the module importable on its own"
        )
    imported = json.loads(proc.stdout.strip().splitlines()[-1])
    if imported:
        raise CheckFailed(
            f"importing the entry point '{ep.value}' imports {', '.join(imported)}",
            "import torch inside the functions and modules that factories name, not at the top of the plugin module",
        )


# Repos a claimer must leave alone (or refuse with a ZooError saying why): another library's, none, damage.
CLAIM_PROBES = (
    {},
    {"architectures": ["BertForMaskedLM"], "model_type": "bert", "transformers_version": "5.0.0"},
    {"architecture": "convnext_tiny", "pretrained_cfg": {"tag": "in1k"}},
    {"architecture": 7, "architectures": "not a list", "pretrained_cfg": [], "num_classes": "many"},
    {"architecture": ["resnet50"], "architectures": [{"name": "Wav2Vec2ForCTC"}, None], "pretrained_cfg": {}},
)


def _child(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one of the kit's probe modules in a fresh interpreter that finds the same plugins."""
    command = [sys.executable, "-m", module, *args]
    return subprocess.run(command, capture_output=True, text=True, env=child_env(), check=False)


def claims(plugin: str) -> None:
    """A plugin's claim_repo leaves other libraries' repos and damaged configs alone, and imports no torch."""
    proc = _child("zoo.testing.claims_probe", plugin, json.dumps(CLAIM_PROBES))
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise CheckFailed(f"claim_repo could not be called: {last}", "")
    problems, imported = json.loads(proc.stdout.strip().splitlines()[-1])
    if problems:
        raise CheckFailed(
            f"claim_repo {problems[0]}",
            "return None for a repo that is not yours, and raise UsageError for one you recognise but cannot load",
        )
    if imported:
        raise CheckFailed(
            f"claim_repo imports {', '.join(imported)}", "claim from config.json alone; import torch later"
        )


def specs(registry: Any, info: Any) -> None:
    """What the registry does not already refuse: links between specs, descriptions, JSON metadata, samples."""
    from zoo.registry.merged import recipe_trains

    problems: list[tuple[str, str]] = []
    for spec in [*info.models, *info.datasets, *info.recipes]:
        if not spec.description:
            problems.append((f"{spec.name} has no description", "give every spec a one-line description"))
        try:
            json.dumps(dict(getattr(spec, "metadata", {})))
        except TypeError as exc:
            problems.append((f"{spec.name}: metadata is not JSON ({exc})", "keep metadata to JSON values"))
    for spec in info.models:
        if spec.default_recipe and spec.default_recipe not in registry.recipes.names():
            problems.append((f"model {spec.name}: default_recipe '{spec.default_recipe}' is not registered", ""))
    for spec in info.datasets:
        if spec.sample is None:
            problems.append(
                (
                    f"dataset {spec.name} has no sample",
                    "add DatasetSpec(sample='pkg.module:func') writing a few samples",
                )
            )
    for spec in info.recipes:
        trained = [m for m in registry.models.by_qualified.values() if recipe_trains(spec, m)]
        if not trained:
            problems.append((f"recipe {spec.name} trains '{spec.model}', which matches no registered model", ""))
        if spec.dataset not in registry.datasets.names():
            problems.append((f"recipe {spec.name} names dataset '{spec.dataset}', which is not registered", ""))
        elif trained and registry.datasets.get(spec.dataset).task != trained[0].task:
            problems.append((f"recipe {spec.name}: its dataset's task differs from its model's", ""))
        if not spec.metrics:
            problems.append((f"recipe {spec.name} declares no metrics", "list them: RecipeSpec(metrics=(...))"))
        unbounded = _unbounded_options(spec)
        if unbounded:
            problems.append(
                (
                    f"recipe {spec.name}: no limits for its numeric options {', '.join(unbounded)}",
                    "declare each option's range: RecipeSpec(limits={'name': '[0, 1)'})",
                )
            )
    if problems:
        raise CheckFailed("; ".join(p for p, _ in problems), "; ".join(dict.fromkeys(f for _, f in problems if f)))


def _unbounded_options(spec: Any) -> list[str]:
    """The recipe's own numeric options (not the engine's, which zoo bounds itself) that declare no range."""
    from zoo.plugin.config import ENGINE_FIELDS

    options = {**spec.cpu_defaults, **spec.gpu_defaults}
    return sorted(
        k
        for k, v in options.items()
        if k not in ENGINE_FIELDS and isinstance(v, (int, float)) and not isinstance(v, bool) and k not in spec.limits
    )


def dataset(spec: Any, work: Path) -> None:
    """The adapter reads its own sample (with its default options) into a non-empty training split."""
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        sample = spec.write_sample(Path(tmp))
        data = spec.build(data_dir=sample.data_dir)
        if len(data.train) == 0:
            raise CheckFailed("the adapter read no training samples from its own sample", "write a few more samples")


def _count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def build(spec: Any) -> Any:
    import torch

    model = spec.build()
    if not isinstance(model, torch.nn.Module):
        raise CheckFailed(f"the factory returned {type(model).__name__}, not a torch.nn.Module")
    return model


def listed_params(registry: Any, specs: list[Any]) -> dict[str, int | None]:
    """What `zoo list` shows: counts from the meta device, cached (None where a model failed to build)."""
    from zoo.registry.param_counts import param_counts

    return param_counts(specs, {p.name: p.version for p in registry.plugin_set.plugins})


def params(listed: int | None, model: Any) -> None:
    if listed != _count(model):
        raise CheckFailed(
            f"zoo lists {listed} parameters (built on the meta device) but the built model has {_count(model)}",
            "build the same model whatever the default device (no parameters created outside __init__)",
        )


def catalog(registry: Any, info: Any) -> None:
    from zoo.registry.catalog import load_catalog

    for source in info.catalogs:
        for entry in load_catalog(source):
            try:
                registry.model(entry.model)
            except UsageError:
                raise CheckFailed(
                    f"catalog {source}: weights '{entry.name}' are for '{entry.model}', which no plugin registers",
                    "name a registered model in `model =`",
                ) from None


# What a logger sees of a run in the `logger` check: one start, step, epoch and finish.
LOGGER_CALLS: list[tuple[str, Any]] = [
    ("log_step", (1, {"loss": 1.0, "lr": 0.1, "samples_per_second": 100.0})),
    ("log_epoch", (1, {"accuracy": 0.5, "loss": 0.9, "train_loss": 1.0, "train_seconds": 0.1, "steps": 1})),
]


def logger(spec: Any, work: Path) -> None:
    """The logger builds and takes a whole run (start, a step, an epoch, finish) in an empty run folder."""
    from zoo.plugin.loggers import TrainingLogger

    logger = spec.build()
    if not isinstance(logger, TrainingLogger):
        raise CheckFailed(
            f"its factory returned a {type(logger).__name__}, not a TrainingLogger",
            "subclass zoo.plugin.TrainingLogger",
        )
    run = work / f"logger-{spec.name}"
    run.mkdir()
    config = {"model": "m", "recipe": "r", "dataset": "d", "seed": 0, "world_size": 1, "settings": {"lr": 0.1}}
    calls = [("start", (run, config)), *LOGGER_CALLS, ("finish", (run, "finished"))]
    with contextlib.chdir(work):  # a logger that writes where it runs (MLflow's ./mlflow.db) writes here
        for method, args in calls:
            try:
                getattr(logger, method)(*args)
            except Exception as exc:
                raise CheckFailed(
                    f"{method} raised {describe_error(exc)}",
                    "a logger must take a well-formed run without raising: check in its constructor what it needs",
                ) from None
