"""Weights on disk: safetensors by default; pickles only when asked, and then with weights_only=True."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.atomic import replacing
from zoo.errors import UsageError, ZooError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
# Buffers that torch recreates on load; checkpoints saved without them (older torchvision ones) still load.
OPTIONAL_KEY_SUFFIXES = ("num_batches_tracked",)


@dataclass
class ConvertedWeights:
    """Weights from another library's layout, as a plugin's `convert_weights` returns them."""

    model_args: dict[str, Any]  # arguments for the model factory (e.g. the vocabulary's size)
    state_dict: dict[str, Any]  # in the model's own key names
    config: dict[str, Any] = field(default_factory=dict)  # run-config fields inference reads: labels, preprocessing


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
        raise ZooError(f"{folder} holds several safetensors files ({names}); zoo loads one model.safetensors")
    pickles = sorted(p for p in folder.rglob("*") if p.suffix in PICKLE_SUFFIXES and p.is_file())
    if not pickles:
        raise ZooError(f"no weights in {folder}: expected model.safetensors")
    if not allow_pickle:
        raise UsageError(
            f"the only weights are a pickle ({pickles[0].name}), which can run code when loaded. "
            "Pass --allow-pickle (allow_pickle=True) to load it with torch.load(weights_only=True)."
        )
    return pickles[0]


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


def check_fits(model: Any, state_dict: Mapping[str, Any], what: str) -> None:
    """Raise WeightsMismatchError naming the first keys that are missing, unexpected, or of another shape."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict and not k.endswith(OPTIONAL_KEY_SUFFIXES)]
    unexpected = [k for k in state_dict if k not in expected]
    shapes = [
        f"{k} (weights {list(state_dict[k].shape)}, model {list(v.shape)})"
        for k, v in expected.items()
        if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing keys {_describe(missing)}")
    if unexpected:
        problems.append(f"unexpected keys {_describe(unexpected)}")
    if shapes:
        problems.append(f"shape mismatch {_describe(shapes)}")
    if problems:
        raise WeightsMismatchError(
            f"the weights do not fit {what}: " + "; ".join(problems) + ". Are they for another architecture?"
        )


def load_into(model: Any, state_dict: Mapping[str, Any], what: str) -> Any:
    """Check, then load strictly (allowing only buffers torch recreates); return the model."""
    check_fits(model, state_dict, what)
    result = model.load_state_dict(state_dict, strict=False)
    leftover = [k for k in result.missing_keys if not k.endswith(OPTIONAL_KEY_SUFFIXES)]
    if leftover or result.unexpected_keys:  # check_fits should have caught these
        raise WeightsMismatchError(f"the weights do not fit {what}: {_describe(leftover + result.unexpected_keys)}")
    return model


def save(model_or_state: Any, path: Path, metadata: Mapping[str, str] | None = None) -> Path:
    """Write a model's state dict as safetensors, atomically (temporary file, then rename)."""
    from safetensors.torch import save_file

    state = model_or_state.state_dict() if hasattr(model_or_state, "state_dict") else model_or_state
    tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    with replacing(path) as tmp:
        save_file(tensors, tmp, metadata=dict(metadata or {}))
    return path


def check_safetensors(path: Path) -> None:
    """Refuse a file whose safetensors header does not parse (cheap: reads the header only)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(path, framework="pt") as fh:
            fh.keys()
    except (SafetensorError, OSError, ValueError) as exc:
        raise UsageError(f"{path} is not a valid safetensors file ({exc})") from None
