"""Weights on disk: safetensors by default; pickles only when asked, and then with weights_only=True."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from zoo.core.atomic import replacing
from zoo.core.errors import UsageError, ZooError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
# Buffers that torch recreates on load; checkpoints saved without them (older torchvision ones) still load.
OPTIONAL_KEY_SUFFIXES = ("num_batches_tracked",)


class WeightsMismatchError(ZooError):
    """A checkpoint whose keys or shapes do not fit the model."""


def find_weights(folder: Path, allow_pickle: bool = False) -> Path:
    """The weights file in a pulled folder: model.safetensors, else the one *.safetensors, else a pickle if allowed."""
    preferred = folder / "model.safetensors"
    if preferred.is_file():
        return preferred
    candidates = sorted(p for p in folder.rglob("*.safetensors") if p.is_file())
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        names = ", ".join(str(p.relative_to(folder)) for p in candidates)
        raise ZooError(
            f"{folder} holds several safetensors files ({names}) and no model.safetensors.index.json that names "
            "them as shards; zoo loads one model.safetensors, or the shards of an index"
        )
    pickles = sorted(p for p in folder.rglob("*") if p.suffix in PICKLE_SUFFIXES and p.is_file())
    if not pickles:
        raise ZooError(f"no weights in {folder}: expected model.safetensors")
    if not allow_pickle:
        raise UsageError(
            f"the only weights are a pickle ({pickles[0].name}), which can run code when loaded. "
            "Pass --allow-pickle (allow_pickle=True) to load it with torch.load(weights_only=True)."
        )
    return pickles[0]


def weight_files(folder: Path, allow_pickle: bool = False) -> list[Path]:
    """The files that hold a pulled folder's weights: the shards its *.safetensors.index.json names (as recent
    transformers publishes large models), else the one file find_weights picks."""
    indexes = sorted(p for p in folder.glob("*.safetensors.index.json") if p.is_file())
    if not indexes:
        return [find_weights(folder, allow_pickle)]
    if len(indexes) > 1:
        raise ZooError(f"{folder} holds several shard indexes ({', '.join(p.name for p in indexes)}): which one?")
    return shard_files(indexes[0])


def shard_files(index: Path) -> list[Path]:
    """The shards a safetensors index names (its weight_map's files), each inside the index's folder."""
    import json

    from zoo.core.paths import check_repo_path

    try:
        weight_map = json.loads(index.read_text("utf-8"))["weight_map"]
        names = sorted(set(weight_map.values()))
        if not isinstance(weight_map, dict) or not all(isinstance(n, str) for n in names):
            raise TypeError("weight_map must map tensor names to file names")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise ZooError(f"{index} is not a safetensors shard index ({type(exc).__name__}: {exc})") from None
    shards = [index.parent / check_repo_path(name) for name in names]
    absent = [s.name for s in shards if not s.is_file()]
    if absent or not shards:
        raise ZooError(f"{index.name} names shards the repository lacks: {', '.join(absent) or 'none at all'}")
    return shards


def read_state_dict(path: Path, allow_pickle: bool = False) -> dict[str, Any]:
    """Tensors by name from a safetensors file, or from a pickle with weights_only=True when allowed."""
    import torch

    if path.suffix in PICKLE_SUFFIXES:
        if not allow_pickle:
            raise UsageError(f"refusing to unpickle {path.name}: pass --allow-pickle to load it with weights_only=True")
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ZooError(f"{path} is not a loadable weights-only checkpoint: {exc}") from None
        return data.get("state_dict", data) if isinstance(data, dict) else data
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(path, device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise ZooError(f"{path} is not a valid safetensors file ({exc}). Pull it again, or republish it.") from None


def _describe(keys: list[str], limit: int = 3) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def _mismatch(what: str, missing: list[str], unexpected: list[str], shapes: list[str]) -> WeightsMismatchError | None:
    problems = []
    if missing:
        problems.append(f"missing keys {_describe(missing)}")
    if unexpected:
        problems.append(f"unexpected keys {_describe(unexpected)}")
    if shapes:
        problems.append(f"shape mismatch {_describe(shapes)}")
    if not problems:
        return None
    return WeightsMismatchError(
        f"the weights do not fit {what}: " + "; ".join(problems) + ". Are they for another architecture?"
    )


def _misfits(expected: Mapping[str, Any], part: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """The tensors of `part` the model does not have, and those of another shape."""
    unexpected = [k for k in part if k not in expected]
    shapes = [
        f"{k} (weights {list(part[k].shape)}, model {list(v.shape)})"
        for k, v in expected.items()
        if k in part and tuple(part[k].shape) != tuple(v.shape)
    ]
    return unexpected, shapes


def _missing(expected: Mapping[str, Any], loaded: set[str]) -> list[str]:
    return [k for k in expected if k not in loaded and not k.endswith(OPTIONAL_KEY_SUFFIXES)]


def load_into(model: Any, state_dict: Mapping[str, Any], what: str) -> Any:
    """Check, then load strictly (allowing only buffers torch recreates); return the model."""
    return _load_parts(model, [lambda: state_dict], what)


def load_files(
    model: Any,
    files: list[Path],
    what: str,
    convert: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    allow_pickle: bool = False,
) -> Any:
    """Load weights file by file (the shards of a large checkpoint), strictly: every tensor fits, none is missing
    or in two files. One file's tensors are in memory beside the model's; two when `convert` cannot place some of
    them until it sees the next file too (tensors it merges, split across shards)."""
    return _load_parts(model, [partial(read_state_dict, f, allow_pickle) for f in files], what, convert)


def _load_parts(
    model: Any,
    parts: list[Callable[[], Mapping[str, Any]]],
    what: str,
    convert: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Any:
    """Read, convert, check and load each part in turn; the last one's check names all that is missing too."""
    expected = model.state_dict()
    loaded: set[str] = set()
    raw: dict[str, Any] = {}
    parts = parts or [dict]  # no weights at all: the check below names every key missing
    for n, read in enumerate(parts):
        last = n + 1 == len(parts)
        raw.update(read())
        part = convert(raw) if convert is not None else raw
        if not last and any(k not in expected for k in part):
            continue  # a group of tensors spans this shard and the next: convert them together
        raw = {}
        twice = sorted(loaded & part.keys())
        if twice:
            raise WeightsMismatchError(f"the weights of {what} hold {_describe(twice)} in more than one shard")
        missing = _missing(expected, loaded | part.keys()) if last else []
        if error := _mismatch(what, missing, *_misfits(expected, part)):
            raise error
        result = model.load_state_dict(part, strict=False)
        if result.unexpected_keys:  # the check above should have caught these
            raise WeightsMismatchError(f"the weights do not fit {what}: {_describe(result.unexpected_keys)}")
        loaded |= part.keys()
        del part  # before the next shard is read
    return model


def save(model_or_state: Any, path: Path, metadata: Mapping[str, str] | None = None) -> Path:
    """Write a model's state dict as safetensors, atomically (temporary file, then rename)."""
    from safetensors.torch import save_file

    state = model_or_state.state_dict() if hasattr(model_or_state, "state_dict") else model_or_state
    tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    with replacing(path) as tmp:
        save_file(tensors, tmp, metadata=dict(metadata or {}))
    return path


def tensors_digest(state: Mapping[str, Any]) -> str:
    """sha256 over a state dict's names and raw tensor bytes, in name order: equal exactly when the weights are."""
    import hashlib

    import torch

    digest = hashlib.sha256()
    for name, tensor in sorted(state.items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def check_safetensors(path: Path) -> None:
    """Refuse a file whose safetensors header does not parse (cheap: reads the header only)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="pt") as fh:
            fh.keys()
    except (SafetensorError, OSError, ValueError) as exc:
        raise UsageError(f"{path} is not a valid safetensors file ({exc})") from None
