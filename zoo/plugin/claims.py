"""Hub repositories saved by other libraries (a timm ResNet, a transformers Wav2Vec2ForCTC): plugins claim them.

zoo itself knows no foreign format. It shows each plugin's `claim_repo` hook the repo's config.json and file
list; the first plugin that returns a `Claim` says which zoo model loads the repo, with which arguments, labels
and preprocessing, and how its tensors are renamed. Like timm's pretrained_cfg plus its checkpoint filter.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from zoo.core.errors import UsageError
from zoo.core.schema import DocumentError, Fields, ListOf, MapOf, Number, Rule, Text, validate
from zoo.plugin.specs import Factory, load_object

# safetensors' own limit on a header (safetensors/src/tensor.rs, MAX_HEADER_SIZE)
MAX_HEADER = 100_000_000
# bytes per element of each safetensors dtype
DTYPE_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
               "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}  # fmt: skip
# One tensor's entry in a safetensors header (the "__metadata__" entry, strings only, is checked apart).
TENSOR_ENTRY = Fields(
    {
        "dtype": Text(choices=tuple(DTYPE_SIZES)),
        "shape": ListOf(Number("[0, inf)", integer=True), max_length=16),
        "data_offsets": ListOf(Number("[0, inf)", integer=True), length=2),
    },
    required=("dtype", "shape", "data_offsets"),
)
HEADER = MapOf(TENSOR_ENTRY)
METADATA = Fields({"__metadata__": MapOf(Text())})


@dataclass(frozen=True)
class ForeignRepo:
    """What a claimer sees of a Hub repository: its id, commit, config.json and every file's path."""

    #: "org/name"
    repo_id: str
    #: the 40-hex commit the files come from
    revision: str
    #: config.json as a dict ({} when the repo has none, or it is not a JSON object)
    config: Mapping[str, Any]
    #: every file in the repository at that commit
    files: tuple[str, ...]
    #: the pulled, verified local copy of a small file, or None when the repo lacks it (zoo supplies this)
    reader: Callable[[str], Path | None] = field(repr=False, compare=False, default=lambda _path: None)

    def json(self, path: str) -> dict[str, Any] | None:
        """Another JSON file of the repo (tokenizer_config.json, vocab.json, ...) as a dict; None if absent or bad."""
        local = self.reader(path) if path in self.files else None
        if local is None:
            return None
        try:
            data = json.loads(local.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            return None
        return data if isinstance(data, dict) else None

    def document(self, path: str, rule: Rule) -> dict[str, Any] | None:
        """A JSON file of the repo checked by `rule` (a zoo.plugin.schema rule); None when the repo lacks it.
        A file that is not a JSON object, or that `rule` refuses, is a DocumentError naming the repo, file and field."""
        where = f"{path} of {self.repo_id}"
        if path == "config.json":
            return validate(dict(self.config), rule, where, _HINT)
        local = self.reader(path) if path in self.files else None
        if local is None:
            return None
        try:
            data = json.loads(local.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise DocumentError(f"{where} is not readable JSON ({type(exc).__name__}). {_HINT}") from None
        if not isinstance(data, dict):
            raise DocumentError(f"{where} is not a JSON object. {_HINT}")
        return validate(data, rule, where, _HINT)

    def weight_files(self) -> list[str] | None:
        """The safetensors files that hold the weights, as zoo loads them (an index's shards, else model.safetensors,
        else the one *.safetensors); None when they are not at hand (only the config files were pulled)."""
        indexes = [p for p in self.files if "/" not in p and p.endswith(".safetensors.index.json")]
        if len(indexes) == 1:
            weight_map = (self.document(indexes[0], Fields({"weight_map": MapOf(Text())})) or {}).get("weight_map")
            names = sorted(set((weight_map or {}).values()))
        elif "model.safetensors" in self.files:
            names = ["model.safetensors"]
        else:
            names = [p for p in self.files if p.endswith(".safetensors")]
        if not names or (len(names) > 1 and not indexes) or any(self.reader(n) is None for n in names):
            return None  # no weights here yet, or none zoo would pick: loading them says so
        return names

    def weight_shapes(self) -> dict[str, tuple[int, ...]] | None:
        """Each tensor's shape, read from the safetensors headers of the weights without loading them, every shape
        backed by the bytes its file holds; None when the weights are not at hand."""
        names = self.weight_files()
        if names is None:
            return None
        shapes: dict[str, tuple[int, ...]] = {}
        for name in names:
            shapes.update(header_shapes(self.reader(name), f"{name} of {self.repo_id}"))  # type: ignore[arg-type]
        return shapes

    def check_weights(self, claim: Claim, build: Callable[..., Any], imports: tuple[str, ...] = ()) -> None:
        """Refuse a claim whose model, `build(**claim.model_args)` on torch's meta device (nothing allocated), holds
        tensors the weights do not: a config.json that describes more than its files hold. `imports` are the modules
        `build` imports (imported first, so that what they create at import stays real). Nothing to check (and torch
        not imported) when the weights are not at hand."""
        shapes = self.weight_shapes()
        if shapes is None:
            return
        import importlib

        for module in imports:
            importlib.import_module(module)
        misfit = meta_misfit(lambda: build(**claim.model_args), shapes, claim.converter())
        if misfit:
            raise UsageError(
                f"{self.repo_id}: the model its config.json describes does not fit its weights: {misfit}. "
                "The repo's config.json and weights disagree: ask its owner, or pick another revision (@REV)."
            )


_HINT = "The repo is damaged or not in the layout its library writes: ask its owner, or pick another revision (@REV)."


def header_shapes(path: Path, where: str) -> dict[str, tuple[int, ...]]:
    """Tensor shapes from a safetensors file's header (its first 8 + N bytes), each checked against the bytes the
    file holds for it, as safetensors checks them when it loads the file."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        length = int.from_bytes(fh.read(8).ljust(8, b"\0"), "little")
        if size < 8 or not 2 <= length <= min(MAX_HEADER, size - 8):
            raise DocumentError(f"{where}: not a safetensors file (its header length is {length}). {_HINT}")
        try:
            header = json.loads(fh.read(length).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise DocumentError(f"{where}: its safetensors header is not JSON. {_HINT}") from None
    validate(header, METADATA, f"{where} (its safetensors header)", _HINT)
    tensors = validate({k: v for k, v in header.items() if k != "__metadata__"}, HEADER, f"{where} header", _HINT)
    data = size - 8 - length
    for key, entry in tensors.items():
        start, end = entry["data_offsets"]
        held = math.prod(entry["shape"]) * DTYPE_SIZES[entry["dtype"]]
        if not start <= end <= data or end - start != held:
            raise DocumentError(
                f"{where}: tensor {key!r} of shape {entry['shape']} needs {held} bytes, its file holds {end - start} "
                f"at {start}-{end} of {data}. {_HINT}"
            )
    return {key: tuple(entry["shape"]) for key, entry in tensors.items()}


def meta_misfit(
    make: Callable[[], Any],
    shapes: Mapping[str, tuple[int, ...]],
    convert: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> str:
    """What differs ("" if nothing) between the model `make()` builds on torch's meta device and tensors of
    `shapes` (a weights file's header, renamed by `convert`): nothing is allocated."""
    import torch

    with torch.device("meta"):
        model = make()
        tensors = {key: torch.empty(shape) for key, shape in shapes.items()}
        found = convert(tensors) if convert is not None else tensors
    expected = {key: tuple(t.shape) for key, t in model.state_dict().items()}
    return misfits(expected, {key: tuple(t.shape) for key, t in found.items()})


def misfits(model: Mapping[str, tuple[int, ...]], weights: Mapping[str, tuple[int, ...]], shown: int = 2) -> str:
    """What differs between the model's tensors and the weights' ("" if they fit): shapes, then tensors the model
    has and the weights lack (scalar buffers such as num_batches_tracked aside: torch recreates them)."""
    shapes = [f"{k} is {list(s)} in the model, {list(weights[k])} in the weights"
              for k, s in model.items() if k in weights and tuple(weights[k]) != tuple(s)]  # fmt: skip
    missing = [k for k, s in model.items() if k not in weights and math.prod(s) > 1]
    parts = [*shapes[:shown]] + ([f"{len(shapes) - shown} more of another shape"] if len(shapes) > shown else [])
    if missing:
        parts.append(f"{len(missing)} tensors the weights lack ({', '.join(missing[:shown])}...)")
    return "; ".join(parts)


@dataclass(frozen=True)
class Claim:
    """A plugin's answer to `claim_repo`: how zoo builds and loads a repository in another library's layout."""

    #: the zoo model that loads it: a name (`resnet50`) or `plugin:name`
    model: str
    #: arguments for that model's factory, read from the repo's config (its depth, width, vocabulary size, ...)
    model_args: Mapping[str, Any]
    #: the library whose layout it is ("timm", "transformers"), for `zoo info`
    library: str
    #: what the repo says it is ("resnet50", "Wav2Vec2ForCTC"), for `zoo info`
    architecture: str
    #: the task, when it differs from the model's
    task: str | None = None
    #: class names or tokens, by output index
    labels: tuple[str, ...] = ()
    #: how inputs must be prepared, in the model's own preprocessing keys (zoo predict applies it)
    preprocessing: Mapping[str, Any] = field(default_factory=dict)
    #: "pkg.mod:func" or a callable: `func(state_dict) -> state_dict` in the model's key names, called on one shard's
    #: tensors at a time. Tensors it cannot map yet (a group it merges, split across shards) it leaves under their
    #: own names: zoo then calls it on that shard and the next together. None: the keys already match.
    convert: Factory | None = None
    #: more run-config fields that inference reads (JSON values), e.g. the CTC blank and word delimiter, or
    #: `label_set` naming a well-known set of labels ("imagenet-1k") instead of listing them
    config: Mapping[str, Any] = field(default_factory=dict)
    #: set by zoo to the claiming plugin's entry-point name
    plugin: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "model_args", MappingProxyType(dict(self.model_args)))
        object.__setattr__(self, "preprocessing", MappingProxyType(dict(self.preprocessing)))
        object.__setattr__(self, "config", MappingProxyType(dict(self.config)))
        object.__setattr__(self, "labels", tuple(self.labels))

    def converter(self) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
        """The `convert` callable, imported on first use."""
        if self.convert is None or callable(self.convert):
            return self.convert
        return load_object(self.convert)

    def run_config(self) -> dict[str, Any]:
        """The fields a zoo run's config.json would hold for these weights."""
        return {
            **self.config,
            "model_args": dict(self.model_args),
            "labels": list(self.labels),
            "preprocessing": dict(self.preprocessing),
            **({"task": self.task} if self.task else {}),
            "claimed": {"plugin": self.plugin, "library": self.library, "architecture": self.architecture},
        }


def found_in(config: Mapping[str, Any]) -> str:
    """What a config.json says it is, in words, for the error when no plugin claims it."""
    library = config.get("library_name") or (
        "transformers" if "transformers_version" in config else "timm" if "pretrained_cfg" in config else None
    )
    names = config.get("architectures") or config.get("architecture") or config.get("model_type")
    names = [names] if isinstance(names, str) else names if isinstance(names, list) else []
    parts = [f"library {library}" if isinstance(library, str) else "no library name"]
    parts.append(f"architectures {', '.join(map(str, names))}" if names else "no architecture")
    return " and ".join(parts)
