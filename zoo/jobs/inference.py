"""`zoo eval` and `zoo predict`: a run folder or a pretrained model (catalog name or repo id), loaded through one
path (zoo.jobs.model_source) with its recipe, on the device asked for."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zoo.core.errors import UsageError, ZooError
from zoo.hub.pull import download
from zoo.jobs.artifacts import FORMATS, InputRefused, artifact_path, load_file
from zoo.jobs.data_source import open_data_dir
from zoo.jobs.model_source import build_and_load, from_pulled, from_run_folder
from zoo.jobs.train import make_recipe, resolve, settings
from zoo.store.card import dataset_name


def load_for_inference(
    target: str,
    dataset: str | None = None,
    data_dir: str | None = None,
    device: str | None = None,
    hub: str | None = None,
    allow_pickle: bool = False,
) -> tuple[Any, Any, dict[str, Any]]:
    """(recipe, model, run config) for a run folder or a pretrained model name."""
    from zoo.engine.device import Dist, choose_device

    if Path(target).is_dir():
        source = from_run_folder(target)
    else:
        source = from_pulled(download(target, hub=hub, allow_pickle=allow_pickle), allow_pickle)
    config = source.config
    mspec, rspec, dspec = resolve(source.spec.qualified_name, config.get("recipe"), dataset or dataset_name(config))
    recipe = make_recipe(rspec, mspec, dspec, settings(rspec, {"device": device}, {}), open_data_dir(data_dir, hub))
    # set before the model is built: a recipe's inference_model may check the run's files (an index) first
    recipe.run_config = {"recipe": rspec.name, "model": mspec.name, **config}
    recipe.run_folder = source.folder
    model = build_and_load(source, recipe.inference_model)
    return recipe, model.to(choose_device(recipe.config.device, Dist())).eval(), recipe.run_config


def _refused_input(recipe: Any, model: Any, inputs: Sequence[str], top: int, config: dict[str, Any]) -> str:
    """Which of `inputs` the exported model refuses (the first one it refuses alone), to name it."""
    for source in inputs if len(inputs) > 1 else ():
        try:
            recipe.predict(model, [source], top, config)
        except InputRefused:
            return str(source)
    return ", ".join(map(str, inputs))


def exported_model(target: str, folder: Path, fmt: str) -> Any:
    """The run folder's or the pulled repository's export of `fmt`, ready to run; one line on how to make it."""
    path = artifact_path(folder, fmt)
    if not path.is_file():
        where = "the run folder" if Path(target).is_dir() else "the repository"
        raise UsageError(
            f"{where} has no {path.name}: make one with 'zoo export {target} --format {fmt}'"
            + (" and publish it with 'zoo publish --export'" if not Path(target).is_dir() else "")
        )
    return load_file(path, fmt)


def evaluate(
    target: str,
    dataset: str | None = None,
    data_dir: str | None = None,
    device: str | None = None,
    hub: str | None = None,
) -> dict[str, Any]:
    """`zoo eval`: the recipe's metrics for a run folder or pretrained model on a dataset's validation split; a model
    trained on a Hub dataset repo is evaluated on the commit it recorded, unless --dataset or --data-dir say else."""
    from zoo.engine.evaluation import eval_loader, evaluate_model

    recipe, model, config = load_for_inference(target, dataset, data_dir, device, hub)
    recorded = config.get("hub_dataset")
    if data_dir is None and dataset is None and isinstance(recorded, dict):
        recipe.data_dir = open_data_dir(f"hf://datasets/{recorded['repo_id']}@{recorded['revision']}", hub)
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
    runtime: str = "torch",
) -> list[dict[str, Any]]:
    """`zoo predict`: one output per input, as the model's task renders it; `runtime` onnx or pt2 runs the run's
    (or the repo's) exported file instead of the eager model."""
    if top < 1:
        raise UsageError(f"--top must be at least 1, got {top}")
    if runtime not in ("torch", *FORMATS):
        raise UsageError(f"--runtime must be one of torch, {', '.join(FORMATS)}, got {runtime!r}")
    recipe, model, config = load_for_inference(
        target, device="cpu" if runtime != "torch" else device, hub=hub, allow_pickle=allow_pickle
    )
    if runtime != "torch":
        model = exported_model(target, recipe.run_folder, runtime)
    import torch

    with torch.no_grad():
        try:
            outputs = recipe.predict(model, list(inputs), top, config)
        except InputRefused as refused:
            raise InputRefused(f"{_refused_input(recipe, model, inputs, top, config)}: {refused}") from None
    if len(outputs) != len(inputs):
        raise ZooError(
            f"recipe '{recipe.recipe_spec.qualified_name}' returned {len(outputs)} outputs for {len(inputs)} inputs: "
            "its predict must return one per input (report this to the plugin's authors)"
        )
    return [{"input": i, "output": o} for i, o in zip(inputs, outputs, strict=True)]
