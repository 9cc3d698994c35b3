"""The conformance suite for plugins: `zoo.testing.check_plugin("name")`, or `zoo plugin check NAME`.

In a plugin's own tests, one call does it all:

    from zoo.testing import assert_conformant

    def test_conformance(tmp_path):
        assert_conformant("myplugin", tmp_path)

Each check names the plugin, what it checked and, when it fails, what to fix. Everything runs for real on the CPU:
the entry point is imported in a fresh interpreter, models are built, one training epoch runs through the
engine on the dataset's own sample (`DatasetSpec(sample=...)`), and `zoo.predict` runs on the trained run.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.child_process import child_env
from zoo.errors import UsageError

# Settings for the training check: one short epoch on the CPU, no download, no pretrained start.
TRAIN_FLAGS = {"epochs": 1, "batch_size": 4, "device": "cpu", "precision": "fp32"}
TRAIN_SETS = {"num_workers": 0, "best_metric": "", "patience": 0, "checkpoint_every": 0}


@dataclass
class Check:
    """One check of one thing in one plugin."""

    check: str
    plugin: str
    subject: str
    ok: bool
    message: str = ""
    fix: str = ""

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        text = f"{mark} {self.check} [{self.plugin}{': ' + self.subject if self.subject else ''}]"
        if not self.ok:
            text += f": {self.message}" + (f" Fix: {self.fix}" if self.fix else "")
        return text


@dataclass
class Report:
    plugin: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def summary(self) -> str:
        return "\n".join(c.line() for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"plugin": self.plugin, "ok": self.ok, "checks": [c.__dict__ for c in self.checks]}


class _Failed(Exception):
    """A check's failure: what went wrong and what to fix."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message, self.fix = message, fix


def _error(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" (at {Path(where.filename).name}:{where.lineno})" if where else ""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}{at}"


class _Runner:
    def __init__(self, plugin: str, work: Path) -> None:
        self.report, self.work = Report(plugin), work

    def run(self, check: str, subject: str, fix: str, body: Callable[[], Any]) -> Any:
        """Run one check; an exception fails it with `fix` unless it is a _Failed with its own."""
        try:
            result = body()
        except _Failed as failed:
            self.report.checks.append(Check(check, self.report.plugin, subject, False, failed.message, failed.fix))
            return None
        except Exception as exc:
            self.report.checks.append(Check(check, self.report.plugin, subject, False, _error(exc), fix))
            return None
        self.report.checks.append(Check(check, self.report.plugin, subject, True))
        return result if result is not None else True


# The checks --------------------------------------------------------------------------------------------------


def _loads(info: Any) -> None:
    if not info.ok:
        raise _Failed(info.error or "it failed to load", "fix that error; ZOO_STRICT_PLUGINS=1 shows the traceback")


def _entry_point(plugin: str) -> Any:
    from importlib import metadata

    for ep in metadata.entry_points(group="zoo"):
        if ep.name == plugin:
            return ep
    raise _Failed(f"no entry point named '{plugin}' in group 'zoo'", "install the plugin (pip install -e .)")


def _no_torch_on_import(plugin: str) -> None:
    ep = _entry_point(plugin)
    code = (
        "import json, sys\nfrom importlib import metadata\n"
        f"[ep] = [e for e in metadata.entry_points(group='zoo') if e.name == {plugin!r}]\n"
        "ep.load()\nprint(json.dumps([m for m in ('torch', 'torchvision', 'torchaudio') if m in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env(), check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise _Failed(f"importing the entry point '{ep.value}' fails: {last}", "make the module importable on its own")
    imported = json.loads(proc.stdout.strip().splitlines()[-1])
    if imported:
        raise _Failed(
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
_CLAIMS = """
import json, sys
from zoo.claims import Claim, ForeignRepo
from zoo.errors import ZooError
from zoo.registry import get_registry
registry = get_registry()
[impl] = [i for i in registry.plugin_set.manager.hook.claim_repo.get_hookimpls() if i.plugin_name == sys.argv[1]]
out = []
for n, config in enumerate(json.loads(sys.argv[2])):
    repo = ForeignRepo(f"probe/repo-{n}", "0" * 40, config, ("config.json",), lambda path: None)
    try:
        result = impl.function(repo=repo)
    except ZooError:
        result = None
    except Exception as exc:
        out.append(f"raised {type(exc).__name__}: {exc} for config.json {json.dumps(config)}")
        continue
    if result is not None and not isinstance(result, Claim):
        out.append(f"returned a {type(result).__name__}, not a Claim or None")
    elif result is not None:
        out.append(f"claimed config.json {json.dumps(config)}, which is not its to load")
print(json.dumps([out, [m for m in ("torch", "torchvision", "torchaudio") if m in sys.modules]]))
"""


def _claims(plugin: str) -> None:
    """A plugin's claim_repo leaves other libraries' repos and damaged configs alone, and imports no torch."""
    probes = json.dumps(CLAIM_PROBES)
    args = [sys.executable, "-c", _CLAIMS, plugin, probes]
    proc = subprocess.run(args, capture_output=True, text=True, env=child_env(), check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise _Failed(f"claim_repo could not be called: {last}", "")
    problems, imported = json.loads(proc.stdout.strip().splitlines()[-1])
    if problems:
        raise _Failed(
            f"claim_repo {problems[0]}",
            "return None for a repo that is not yours, and raise UsageError for one you recognise but cannot load",
        )
    if imported:
        raise _Failed(f"claim_repo imports {', '.join(imported)}", "claim from config.json alone; import torch later")


def _specs(registry: Any, info: Any) -> None:
    """What the registry does not already refuse: links between specs, descriptions, JSON metadata, samples."""
    from zoo.registry import recipe_trains

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
        raise _Failed("; ".join(p for p, _ in problems), "; ".join(dict.fromkeys(f for _, f in problems if f)))


def _unbounded_options(spec: Any) -> list[str]:
    """The recipe's own numeric options (not the engine's, which zoo bounds itself) that declare no range."""
    from zoo.engine.config import ENGINE_FIELDS

    options = {**spec.cpu_defaults, **spec.gpu_defaults}
    return sorted(
        k
        for k, v in options.items()
        if k not in ENGINE_FIELDS and isinstance(v, (int, float)) and not isinstance(v, bool) and k not in spec.limits
    )


def _dataset(spec: Any, work: Path) -> None:
    """The adapter reads its own sample (with its default options) into a non-empty training split."""
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        sample = spec.write_sample(Path(tmp))
        data = spec.build(data_dir=sample.data_dir)
        if len(data.train) == 0:
            raise _Failed("the adapter read no training samples from its own sample", "write a few more samples")


def _count(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def _build(spec: Any) -> Any:
    import torch

    model = spec.build()
    if not isinstance(model, torch.nn.Module):
        raise _Failed(f"the factory returned {type(model).__name__}, not a torch.nn.Module")
    return model


def _listed_params(registry: Any, specs: list[Any]) -> dict[str, int | None]:
    """What `zoo list` shows: counts from the meta device, cached (None where a model failed to build)."""
    from zoo.params import param_counts

    return param_counts(specs, {p.name: p.version for p in registry.plugin_set.plugins})


def _params(listed: int | None, model: Any) -> None:
    if listed != _count(model):
        raise _Failed(
            f"zoo lists {listed} parameters (built on the meta device) but the built model has {_count(model)}",
            "build the same model whatever the default device (no parameters created outside __init__)",
        )


def _catalog(registry: Any, info: Any) -> None:
    from zoo.catalog import load_catalog

    for source in info.catalogs:
        for entry in load_catalog(source):
            try:
                registry.model(entry.model)
            except UsageError:
                raise _Failed(
                    f"catalog {source}: weights '{entry.name}' are for '{entry.model}', which no plugin registers",
                    "name a registered model in `model =`",
                ) from None


# Recipes: forward, one training epoch, a safetensors round trip, predict --------------------------------------------


def _recipe(registry: Any, rspec: Any, mspec: Any, data_dir: Path | None) -> Any:
    from zoo.engine.config import build_config
    from zoo.engine.run import make_recipe

    dspec = registry.datasets.get(rspec.dataset)
    defaults = rspec.defaults("cpu")
    sets = {**TRAIN_SETS, **({"pretrained": False} if "pretrained" in defaults else {})}
    config = build_config(defaults, TRAIN_FLAGS, sets)
    return make_recipe(rspec, mspec, dspec, config, data_dir)


def _first_batch(recipe: Any, data: Any) -> Any:
    from zoo.engine.evaluation import eval_loader

    split = data.val if data.val is not None else data.train
    if len(split) == 0:
        raise _Failed("the sample's data has no samples", "write more samples in the dataset's sample function")
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
            raise _Failed(f"metric {name} is {pair!r}, not a (numerator, denominator) pair")
    if not captured:
        raise _Failed("the recipe's metrics never called the model", "call model(...) in Recipe.metrics")
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
            raise _Failed("no training batch ran", "make the sample big enough for one batch of 4")
        if not all(math.isfinite(v) for v in losses):
            raise _Failed(
                f"the training loss is not finite: {losses}",
                "check Recipe.loss (log of zero, division by zero, a learning rate too high)",
            )
        return out

    def round_trip(self, mspec: Any) -> None:
        from zoo.weights import load_into, read_state_dict, save

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
            raise _Failed(
                "the model reloaded from safetensors gives other outputs",
                "keep all state in parameters or registered buffers (state_dict), and make inference_model "
                "build the same architecture",
            )

    def predict(self, run: Path) -> None:
        from zoo.engine.run import predict

        rows = predict(str(run), list(self.sample.inputs), top=3, device="cpu")  # refuses a wrong count itself
        if any(r["output"] is None for r in rows):
            raise _Failed(f"predict returned {rows!r} for {self.sample.inputs}", "return one output per input")


def _recipe_checks(runner: _Runner, registry: Any, rspec: Any) -> None:
    from zoo.registry import recipe_trains

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
        counts = _listed_params(registry, models)
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


# Entry points ----------------------------------------------------------------------------------------------------


# What a logger sees of a run in the `logger` check: one start, step, epoch and finish.
LOGGER_CALLS: list[tuple[str, Any]] = [
    ("log_step", (1, {"loss": 1.0, "lr": 0.1, "samples_per_second": 100.0})),
    ("log_epoch", (1, {"accuracy": 0.5, "loss": 0.9, "train_loss": 1.0, "train_seconds": 0.1, "steps": 1})),
]


def _logger(spec: Any, work: Path) -> None:
    """The logger builds and takes a whole run (start, a step, an epoch, finish) in an empty run folder."""
    from zoo.engine.loggers import TrainingLogger

    logger = spec.build()
    if not isinstance(logger, TrainingLogger):
        raise _Failed(
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
                raise _Failed(
                    f"{method} raised {_error(exc)}",
                    "a logger must take a well-formed run without raising: check in its constructor what it needs",
                ) from None


def check_plugin(name: str, work_dir: str | os.PathLike[str] | None = None) -> Report:
    """Run every check on the installed plugin `name` (its entry-point name); return the report."""
    from zoo.registry import get_registry

    registry = get_registry()
    info = registry.plugin_set.get(name)
    if info is None:
        known = ", ".join(sorted(p.name for p in registry.plugin_set.plugins)) or "none"
        raise UsageError(f"no installed plugin named '{name}' (installed: {known})")
    with tempfile.TemporaryDirectory(prefix="zoo-check-", dir=work_dir) as tmp:
        runner = _Runner(name, Path(tmp))
        loaded = runner.run("loads", "", "", lambda: _loads(info))
        runner.run("no-torch-on-import", "", "", lambda: _no_torch_on_import(name))
        if loaded is None:
            return runner.report
        runner.run("specs", "", "", lambda: _specs(registry, info))
        listed = _listed_params(registry, info.models)  # one counting process for all of them
        for spec in info.models:
            model = runner.run(
                "build", spec.name, "make the factory build with its default kwargs", lambda s=spec: _build(s)
            )
            if model is not None:
                runner.run("params", spec.name, "", lambda s=spec, m=model: _params(listed[s.qualified_name], m))
        for dspec in info.datasets:
            if dspec.sample is not None:
                fix = "make the sample function write the files the adapter reads"
                runner.run("dataset", dspec.name, fix, lambda d=dspec: _dataset(d, runner.work))
        for rspec in info.recipes:
            _recipe_checks(runner, registry, rspec)
        runner.run("catalog", "", "fix the catalog file as the message says", lambda: _catalog(registry, info))
        if any(i.plugin_name == name for i in registry.plugin_set.manager.hook.claim_repo.get_hookimpls()):
            runner.run("claims", "", "", lambda: _claims(name))
        for lspec in info.loggers:
            runner.run("logger", lspec.name, "", lambda s=lspec: _logger(s, runner.work))
        return runner.report


def assert_conformant(name: str, work_dir: str | os.PathLike[str] | None = None) -> Report:
    """For a plugin's tests: run check_plugin and fail with every failing check's message."""
    report = check_plugin(name, work_dir)
    if not report.ok:
        raise AssertionError(f"plugin '{name}' breaks zoo's plugin contract:\n{report.summary()}")
    return report
