"""Hub repositories saved by other libraries (a timm ResNet, a transformers Wav2Vec2ForCTC): plugins claim them.

zoo itself knows no foreign format. It shows each plugin's `claim_repo` hook the repo's config.json and file
list; the first plugin that returns a `Claim` says which zoo model loads the repo, with which arguments, labels
and preprocessing, and how its tensors are renamed. Like timm's pretrained_cfg plus its checkpoint filter.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from zoo.plugin.specs import Factory, load_object


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
