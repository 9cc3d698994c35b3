"""ModelSpec, DatasetSpec, RecipeSpec, LoggerSpec and Sample: plain data that plugins register, with lazy factories.

A factory is a callable or an import path "package.module:function"; it is imported and called only
when the thing is built, so registering a spec never imports torch.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from zoo.core.errors import UsageError, ZooError

NAME_RE = re.compile(r"[a-z0-9][a-z0-9_\-]*")
TASK_RE = re.compile(r"[a-z][a-z0-9\-]*")
FACTORY_RE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")

Factory = str | Callable[..., Any]


def load_object(path: str) -> Any:
    """Import "package.module:attr.sub" and return the attribute."""
    module_name, _, attr = path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _check_common(kind: str, name: str, task: str, factory: Factory | None) -> None:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ValueError(
            f"{kind} name {name!r} is invalid: use lowercase letters, digits, '_' and '-' "
            "(no '.' or ':', which separate tags and plugins)"
        )
    if not isinstance(task, str) or not TASK_RE.fullmatch(task):
        raise ValueError(f"{kind} '{name}': task {task!r} is invalid: use a lowercase word like 'image-classification'")
    if (
        factory is not None
        and not callable(factory)
        and not (isinstance(factory, str) and FACTORY_RE.fullmatch(factory))
    ):
        raise ValueError(f"{kind} '{name}': factory must be a callable or 'package.module:function', got {factory!r}")


class _Buildable:
    """Shared by the specs: resolving and calling the lazy factory."""

    name: str
    plugin: str
    factory: Factory | None

    @property
    def qualified_name(self) -> str:
        return f"{self.plugin}:{self.name}" if self.plugin else self.name

    def resolve_factory(self) -> Callable[..., Any]:
        """The factory as a callable, importing it if it is a path."""
        if self.factory is None:
            raise ZooError(f"'{self.qualified_name}' has no factory")
        return self._resolve(self.factory, "factory")

    def _resolve(self, target: Factory, role: str) -> Callable[..., Any]:
        """A callable, or an import path "pkg.mod:func" imported now; a failed import names the plugin to fix."""
        if callable(target):
            return target
        try:
            return load_object(target)
        except (ImportError, AttributeError) as exc:
            raise ZooError(
                f"cannot import the {role} '{target}' of '{self.qualified_name}': {exc}. "
                f"Reinstall the plugin '{self.plugin}' or report it to its authors."
            ) from exc


@dataclass(frozen=True)
class ModelSpec(_Buildable):
    """An architecture: `factory(**kwargs)` returns a torch.nn.Module.

    Weights saved by another library (a timm or transformers repo) load through the plugin's `claim_repo` hook.
    """

    #: lowercase letters, digits, '_' and '-' (`resnet18`); `plugin:name` when two plugins share it
    name: str
    #: a Hub pipeline tag where one exists (`image-classification`); recipes and datasets match on it
    task: str
    #: "pkg.module:function" (imported only when the model is built) or a callable returning an nn.Module
    factory: Factory
    #: one line for `zoo list` and `zoo info`
    description: str = ""
    #: the factory's default arguments; a run's model_args and the caller's overrides update them
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    #: the recipe `zoo train MODEL` uses when none is named
    default_recipe: str | None = None
    #: JSON values for tools and the conformance suite, never read by the engine
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: set by zoo to the registering plugin's entry-point name
    plugin: str = ""

    def __post_init__(self) -> None:
        _check_common("model", self.name, self.task, self.factory)
        object.__setattr__(self, "kwargs", _frozen(self.kwargs))
        object.__setattr__(self, "metadata", _frozen(self.metadata))

    def build(self, **overrides: Any) -> Any:
        """Build the model with the spec's kwargs updated by `overrides`."""
        return self.resolve_factory()(**{**self.kwargs, **overrides})


@dataclass(frozen=True)
class Sample:
    """A few samples in a dataset's real format, for the conformance suite (zoo.testing): the `data_dir` to hand
    the adapter (None when it needs none) and inputs that `zoo predict` accepts for the task."""

    #: what the adapter's factory gets as data_dir
    data_dir: Path | None
    #: arguments for `zoo predict` (file paths, ids)
    inputs: list[str]


@dataclass(frozen=True)
class DatasetSpec(_Buildable):
    """A dataset adapter: `factory(**options)` returns the dataset object the recipes consume.

    `sample` ("pkg.mod:func"): `func(folder)` writes a few samples in the real format into `folder` and returns a
    `Sample`; zoo.testing trains one step and predicts on it, with no download.
    """

    name: str
    #: the task of the models it feeds
    task: str
    #: "pkg.module:function" or a callable: `factory(data_dir=..., **options)` returns a zoo.plugin.Data
    factory: Factory
    description: str = ""
    #: the file formats it reads, shown by `zoo info` ("cifar-10 python batches", "imagefolder")
    formats: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: set by zoo to the registering plugin's entry-point name
    plugin: str = ""
    #: writes a few samples in the real format (see above)
    sample: Factory | None = None
    #: "pkg.module:function" or a callable: `hub(source, **options)` returns a zoo.plugin.Data for a Hub dataset
    #: repo (`--data-dir hf://datasets/ORG/NAME`); `source` is a zoo.plugin.HubSource of verified parquet files
    hub: Factory | None = None

    def __post_init__(self) -> None:
        _check_common("dataset", self.name, self.task, self.factory)
        for extra in (self.sample, self.hub):
            if extra is not None:
                _check_common("dataset", self.name, self.task, extra)
        object.__setattr__(self, "formats", tuple(self.formats))
        object.__setattr__(self, "metadata", _frozen(self.metadata))

    def build(self, **options: Any) -> Any:
        """The adapter's Data: from `data_dir`, or through `hub` when data_dir is a Hub dataset repo (HubSource)."""
        from zoo.plugin.hubdata import HubSource

        source = options.get("data_dir")
        if not isinstance(source, HubSource):
            return self.resolve_factory()(**options)
        if self.hub is None:
            raise UsageError(
                f"the dataset adapter '{self.qualified_name}' cannot read a Hub dataset repo ({source.uri}): "
                "pass a local --data-dir, or use an adapter with a Hub source (zoo info lists them)."
            )
        options.pop("data_dir")
        data = self._resolve(self.hub, "hub source")(source, **options)
        # the run records the repo, its commit and every file's sha256, whatever the adapter says
        data.info["fingerprint"] = source.fingerprint
        data.info["hub_dataset"] = {"repo_id": source.repo_id, "revision": source.revision, "files": dict(source.files)}
        return data

    def write_sample(self, folder: Path) -> Sample:
        """Write the dataset's sample into `folder` (see `sample`)."""
        if self.sample is None:
            raise ZooError(f"dataset '{self.qualified_name}' has no sample")
        return self._resolve(self.sample, "sample")(folder)


@dataclass(frozen=True)
class RecipeSpec(_Buildable):
    """A training recipe: which model (a name or an fnmatch pattern such as `resnet*`) and dataset, its defaults
    on CPU and on GPU, the metrics it reports."""

    name: str
    #: the model it trains: a name (`resnet18`, `resnet:resnet18`) or an fnmatch pattern (`resnet*`)
    model: str
    #: the dataset adapter it trains on unless `--dataset` names another of the same task
    dataset: str
    task: str = ""
    description: str = ""
    #: engine settings (epochs, lr, scheduler, ...) and the recipe's own options, on CPU and on CUDA; a recipe
    #: without gpu_defaults uses its cpu_defaults on every device
    cpu_defaults: Mapping[str, Any] = field(default_factory=dict)
    gpu_defaults: Mapping[str, Any] = field(default_factory=dict)
    #: the metrics its `Recipe.metrics` reports (best_metric must be one of them)
    metrics: tuple[str, ...] = ()
    #: "pkg.module:Class" or the class: a zoo.plugin.Recipe subclass
    factory: Factory | None = None
    #: set by zoo to the registering plugin's entry-point name
    plugin: str = ""
    #: the valid range of each of the recipe's own numeric options, as an interval ("[0, 1)", "(0, inf)"), or a
    #: tuple of the allowed strings; checked with the engine's settings before any work (see zoo.core.limits)
    limits: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from zoo.core.limits import Interval

        _check_common("recipe", self.name, self.task or "training", self.factory)
        for option, limit in dict(self.limits or {}).items():
            if isinstance(limit, (list, tuple)):
                if not all(isinstance(c, str) for c in limit):
                    raise ValueError(f"recipe '{self.name}': limits['{option}'] must list strings")
                continue
            try:
                Interval.parse(limit)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"recipe '{self.name}': limits['{option}']: {exc}") from None
        object.__setattr__(
            self,
            "limits",
            _frozen({k: tuple(v) if isinstance(v, list) else v for k, v in dict(self.limits or {}).items()}),
        )
        for key in ("model", "dataset"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value:
                raise ValueError(f"recipe '{self.name}': {key} must name a registered {key}")
        object.__setattr__(self, "cpu_defaults", _frozen(self.cpu_defaults))
        object.__setattr__(self, "gpu_defaults", _frozen(self.gpu_defaults))
        object.__setattr__(self, "metrics", tuple(self.metrics))

    def defaults(self, device: str) -> dict[str, Any]:
        """The defaults for a device type: the GPU ones on 'cuda' when the recipe has any, else the CPU ones."""
        return dict(self.gpu_defaults if device == "cuda" and self.gpu_defaults else self.cpu_defaults)


@dataclass(frozen=True)
class LoggerSpec(_Buildable):
    """A training logger: `factory()` returns a zoo.plugin.TrainingLogger that rank 0 of `zoo train --logger NAME`
    calls at the start, every logged step, every epoch and the end of the run."""

    name: str
    #: "pkg.module:Class" (imported only when a run uses it) or the class
    factory: Factory
    description: str = ""
    #: set by zoo to the registering plugin's entry-point name ("zoo" for the built-in ones)
    plugin: str = ""

    def __post_init__(self) -> None:
        _check_common("logger", self.name, "training", self.factory)

    def build(self) -> Any:
        return self.resolve_factory()()
