"""The conformance checks of each recipe, on its dataset's own sample: a forward pass with every model it trains,
one training epoch through the engine, a safetensors round trip, `zoo.predict` on the trained run, and the trained
run exported in both formats through `zoo export`'s parity gate."""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path
from typing import Any

from zoo.testing.checks import listed_params
from zoo.testing.report import CheckFailed, CheckSkipped, Noted, Runner

# Settings for the training check: one short epoch on the CPU, no download, no pretrained start.
TRAIN_FLAGS = {"epochs": 1, "batch_size": 4, "device": "cpu", "precision": "fp32"}
TRAIN_SETS = {"num_workers": 0, "best_metric": "", "patience": 0, "checkpoint_every": 0}


def _recipe(registry: Any, rspec: Any, mspec: Any, data_dir: Path | None) -> Any:
    from zoo.engine.settings import build_config
    from zoo.jobs.train import make_recipe

    dspec = registry.datasets.get(rspec.dataset)
    defaults = rspec.defaults("cpu")
    sets = {**TRAIN_SETS, **({"pretrained": False} if "pretrained" in defaults else {})}
    config = build_config(defaults, TRAIN_FLAGS, sets)
    return make_recipe(rspec, mspec, dspec, config, data_dir)


def _first_batch(recipe: Any, data: Any) -> Any:
    from zoo.engine.evaluation import eval_loader

    split = data.val if data.val is not None else data.train
    if len(split) == 0:
        raise CheckFailed("the sample's data has no samples", "write more samples in the dataset's sample function")
    return recipe.to_device(next(iter(eval_loader(split, recipe.config.batch_size, data.collate))), "cpu")


def _outputs(recipe: Any, model: Any, batch: Any) -> list[Any]:
    """The model's outputs while the recipe computes its metrics on `batch` (captured by a forward hook)."""
    import torch

    captured: list[Any] = []
    handle = model.register_forward_hook(lambda _module, _args, output: captured.append(output))
    try:
        with torch.no_grad():
            values = recipe.metrics(model.eval(), batch)
    finally:
        handle.remove()
    for name, pair in values.items():
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise CheckFailed(f"metric {name} is {pair!r}, not a (numerator, denominator) pair")
    if not captured:
        raise CheckFailed("the recipe's metrics never called the model", "call model(...) in Recipe.metrics")
    return captured


def _same(a: Any, b: Any) -> bool:
    import torch

    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


class _RecipeChecks:
    """Forward, train, round trip and predict for one recipe with one model, on its dataset's sample."""

    def __init__(self, registry: Any, rspec: Any, work: Path) -> None:
        self.registry, self.rspec, self.work = registry, rspec, work
        self.sample: Any = None

    def write_sample(self) -> Any:
        dspec = self.registry.datasets.get(self.rspec.dataset)
        folder = self.work / "sample"
        self.sample = dspec.write_sample(folder)
        return self.sample

    def forward(self, mspec: Any) -> None:
        recipe = _recipe(self.registry, self.rspec, mspec, self.sample.data_dir)
        data = recipe.build_data()
        model = recipe.build_model(recipe.model_args(data))
        _outputs(recipe, model, _first_batch(recipe, data))

    def train(self, mspec: Any) -> Path:
        from zoo.engine.trainer import RunInfo, Trainer

        recipe = _recipe(self.registry, self.rspec, mspec, self.sample.data_dir)
        losses: list[float] = []
        loss = recipe.loss

        def recording(model: Any, batch: Any) -> Any:
            value = loss(model, batch)
            losses.append(float(value.detach()))
            return value

        recipe.loss = recording
        info = RunInfo(mspec.name, self.rspec.name, recipe.dataset_spec.name, mspec.plugin, None, mspec.task, {})
        out = self.work / "run"
        Trainer(recipe, info, out, quiet=True).fit()
        if not losses:
            raise CheckFailed("no training batch ran", "make the sample big enough for one batch of 4")
        if not all(math.isfinite(v) for v in losses):
            raise CheckFailed(
                f"the training loss is not finite: {losses}",
                "check Recipe.loss (log of zero, division by zero, a learning rate too high)",
            )
        return out

    def round_trip(self, mspec: Any) -> None:
        from zoo.store.weights import load_into, read_state_dict, save

        recipe = _recipe(self.registry, self.rspec, mspec, self.sample.data_dir)
        data = recipe.build_data()
        args = recipe.model_args(data)
        model = recipe.build_model(args)
        batch = _first_batch(recipe, data)
        before = _outputs(recipe, model, batch)
        path = save(model, self.work / "roundtrip" / "model.safetensors")
        fresh = load_into(recipe.inference_model(args), read_state_dict(path), mspec.name)
        after = _outputs(recipe, fresh, batch)
        if not _same(before, after):
            raise CheckFailed(
                "the model reloaded from safetensors gives other outputs",
                "keep all state in parameters or registered buffers (state_dict), and make inference_model "
                "build the same architecture",
            )

    def predict(self, run: Path) -> None:
        from zoo.jobs.inference import predict

        rows = predict(str(run), list(self.sample.inputs), top=3, device="cpu")  # refuses a wrong count itself
        if any(r["output"] is None for r in rows):
            raise CheckFailed(f"predict returned {rows!r} for {self.sample.inputs}", "return one output per input")

    def export(self, run: Path) -> Noted:
        from zoo.jobs.inference import load_for_inference

        data_dir = self.sample.data_dir  # the gate's samples: the validation split of the dataset's own sample
        return export_figures(*load_for_inference(str(run), data_dir=str(data_dir) if data_dir else None, device="cpu"))


EXPORT_FIX = (
    "implement Recipe.example_inputs and Recipe.agreement (CONTRIBUTING.md, 'Export'), or subclass a built-in "
    "task's recipe"
)


def export_figures(recipe: Any, model: Any, config: dict[str, Any]) -> Noted:
    """The run exported in each format as `zoo export` does, with the gate's figures; skipped, with the line
    `zoo export` refuses it with, when the recipe gives no example inputs (a task zoo does not know)."""
    from zoo.core.errors import UsageError, ZooError
    from zoo.jobs.export import ATOL, RTOL, example_inputs, export_loaded

    try:
        recipe.example_inputs(1)
    except NotImplementedError:
        try:
            example_inputs(recipe, 1)
        except UsageError as refusal:
            raise CheckSkipped(f"not exportable: zoo export answers '{refusal}'") from None
        raise  # example_inputs raised once and then not: a recipe zoo cannot rely on
    figures = []
    for fmt in ("pt2", "onnx"):  # torch.export first: the ONNX exporter runs it too, then converts
        try:
            parity = export_loaded(recipe, model, config, fmt, None, ATOL, RTOL)["parity"]
        except ZooError as exc:  # the gate's figures, or the exporter's reason, in one line
            raise CheckFailed(str(exc), "see CONTRIBUTING.md, 'Export'") from None
        agreement = parity["agreement"]
        figures.append(
            f"{fmt} max |exported - eager| {parity['max_abs']:.2g} (relative {parity['max_rel']:.2g}), "
            f"{agreement['name']} agreement {agreement['value']:.0%}"
        )
    return Noted(f"{'; '.join(figures)}, on {parity['samples']} samples: {parity['source']}")


def recipe_checks(runner: Runner, registry: Any, rspec: Any) -> None:
    from zoo.registry.merged import recipe_trains

    models = sorted(
        (m for m in registry.models.by_qualified.values() if recipe_trains(rspec, m)),
        key=lambda m: (m.plugin != rspec.plugin, m.name),
    )
    if not models:
        return
    with tempfile.TemporaryDirectory(dir=runner.work) as tmp:
        checks = _RecipeChecks(registry, rspec, Path(tmp))
        fix = "make the dataset's sample function write files its adapter reads"
        if runner.run("sample", f"{rspec.name} / {rspec.dataset}", fix, checks.write_sample) is None:
            return
        counts = listed_params(registry, models)
        smallest = min(models, key=lambda m: counts[m.qualified_name] or sys.maxsize)
        for mspec in models:
            subject = f"{rspec.name} with {mspec.name}"
            runner.run(
                "forward",
                subject,
                "make Recipe.metrics run the model on a batch of the dataset",
                lambda m=mspec: checks.forward(m),
            )
        subject = f"{rspec.name} with {smallest.name}"
        run = runner.run(
            "train-step", subject, "see the error: one epoch on the CPU must run", lambda: checks.train(smallest)
        )
        runner.run("safetensors", subject, "", lambda: checks.round_trip(smallest))
        if run is not None:
            runner.run(
                "predict", subject, "make Recipe.predict return one output per input", lambda: checks.predict(run)
            )
            runner.run("export", subject, EXPORT_FIX, lambda: checks.export(run))
