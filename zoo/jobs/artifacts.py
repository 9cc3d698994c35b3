"""Exported models as zoo runs them: an ONNX file through onnxruntime, a .pt2 file through torch.export.load.

Each file carries zoo's description of its inputs (names, dynamic axes and their minimums), so a runtime can refuse
an input the export does not take with one line before it reaches onnxruntime or a torch.export guard. A .pt2 file
is read only when nothing in it would be unpickled.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.core.errors import UsageError, ZooError
from zoo.store import layout

FORMATS = ("onnx", "pt2")
#: where zoo's description of the inputs lives: an ONNX metadata key, and a .pt2 extra file
META_KEY = "zoo"
PT2_META = "zoo.json"


@dataclass(frozen=True)
class InputInfo:
    name: str
    #: dimension -> {"name", "min", "max", "unit"}
    axes: dict[int, dict[str, Any]]
    rank: int


def describe(model: str, fmt: str, inputs: Any) -> str:
    """The metadata an artifact carries, from the recipe's ExampleInputs."""
    return json.dumps(
        {
            "zoo_export": 1,
            "model": model,
            "format": fmt,
            "inputs": [
                {
                    "name": name,
                    "rank": tensor.dim(),
                    "dtype": str(tensor.dtype).removeprefix("torch."),
                    "axes": {
                        str(d): {"name": a.name, "min": a.min, "max": a.max, "unit": a.unit} for d, a in ax.items()
                    },
                }
                for name, tensor, ax in zip(inputs.names, inputs.tensors, inputs.axes, strict=True)
            ],
        }
    )


def parse_inputs(meta: str, where: str) -> list[InputInfo]:
    try:
        doc = json.loads(meta)
        return [
            InputInfo(i["name"], {int(d): dict(a) for d, a in i["axes"].items()}, int(i["rank"])) for i in doc["inputs"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UsageError(f"{where} has no zoo export metadata: export it again with 'zoo export'") from None


class InputRefused(UsageError):
    """An input the exported file does not take (another rank, shorter than an axis' minimum): exit 2."""


class Runtime:
    """An exported model called like the eager one: tensors in, a tensor (or a tuple of them) out, on the CPU."""

    def __init__(self, run: Any, inputs: list[InputInfo], where: str) -> None:
        self._run = run
        self.inputs = inputs
        self.where = where

    def __call__(self, *tensors: Any) -> Any:
        self.check(tensors)
        outputs = [o for o in self._run(*tensors) if o is not None]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    def check(self, tensors: tuple[Any, ...]) -> None:
        """Refuse, in one line, inputs of another count or rank, or shorter than an axis' minimum."""
        if len(tensors) != len(self.inputs):
            raise InputRefused(f"{self.where} takes {len(self.inputs)} inputs, got {len(tensors)}")
        for tensor, info in zip(tensors, self.inputs, strict=True):
            if tensor.dim() != info.rank:
                raise InputRefused(
                    f"{self.where}: input '{info.name}' must have {info.rank} dimensions, got {tensor.dim()}"
                )
            for dim, axis in info.axes.items():
                size = tensor.shape[dim]
                if size < axis["min"]:
                    unit = axis.get("unit") or axis["name"]
                    raise InputRefused(
                        f"{self.where}: '{info.name}' has {size} {unit}; the export takes at least {axis['min']}"
                    )
                if size > axis["max"]:
                    raise InputRefused(
                        f"{self.where}: '{info.name}' has {size} along {axis['name']}; the export takes at most "
                        f"{axis['max']}"
                    )

    # what the recipes' inference code may ask of a model
    def eval(self) -> Runtime:
        return self

    def to(self, *_: Any, **__: Any) -> Runtime:
        return self

    def parameters(self) -> Any:
        return iter(())


def load(data: bytes, fmt: str, where: str) -> Runtime:
    """An exported model from the bytes of its file."""
    if fmt == "onnx":
        return _onnx(data, where)
    if fmt == "pt2":
        return _pt2(data, where)
    raise UsageError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")


def load_file(path: Path, fmt: str) -> Runtime:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ZooError(f"cannot read {path}: {exc.strerror or exc}") from None
    return load(data, fmt, str(path))


def _onnx(data: bytes, where: str) -> Runtime:
    import numpy as np
    import onnxruntime as ort
    import torch

    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for a damaged file
        raise UsageError(f"{where} is not an ONNX model onnxruntime can run ({_first_line(exc)})") from None
    meta = session.get_modelmeta().custom_metadata_map.get(META_KEY, "")
    inputs = parse_inputs(meta, where)
    names = [i.name for i in session.get_inputs()]

    def run(*tensors: Any) -> list[Any]:
        feeds = {n: np.ascontiguousarray(t.detach().cpu().numpy()) for n, t in zip(names, tensors, strict=True)}
        return [torch.from_numpy(o) for o in session.run(None, feeds)]

    return Runtime(run, inputs, where)


def _pt2(data: bytes, where: str) -> Runtime:
    import torch

    check_pt2(data, where)
    extra = {PT2_META: ""}
    try:
        program = torch.export.load(io.BytesIO(data), extra_files=extra)
    except Exception as exc:  # torch.export.load raises many types for a damaged archive
        raise UsageError(f"{where} is not a torch.export program ({_first_line(exc)})") from None
    module = program.module()

    def run(*tensors: Any) -> list[Any]:
        with torch.no_grad():
            out = module(*tensors)
        return list(out) if isinstance(out, (tuple, list)) else [out]

    return Runtime(run, parse_inputs(extra[PT2_META], where), where)


def check_pt2(data: bytes, where: str) -> None:
    """Refuse a .pt2 archive that would make torch.export.load unpickle anything: sample inputs (torch.load, which
    falls back to weights_only=False), or weights and constants stored as pickles."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = {info.filename: info for info in archive.infolist()}
    except (zipfile.BadZipFile, ValueError):
        raise UsageError(f"{where} is not a .pt2 archive (not a zip file)") from None
    for name, info in members.items():
        if "/sample_inputs/" in name and info.file_size:
            raise UsageError(
                f"{where} carries pickled sample inputs: zoo does not unpickle; export it with 'zoo export'"
            )
        if name.endswith(("weights_config.json", "constants_config.json")):
            try:
                config = json.loads(archive.read(name))
            except ValueError:
                raise UsageError(f"{where}: {name} is not JSON") from None
            if _pickled(config):
                raise UsageError(
                    f"{where} stores tensors as pickles: zoo does not unpickle; export it with 'zoo export'"
                )


def _pickled(config: Any) -> bool:
    """Whether a weights or constants config of a .pt2 archive marks any tensor as pickled (or is not a map)."""
    if not isinstance(config, dict):
        return True
    entries = config.get("config", {})
    if not isinstance(entries, dict):
        return True
    return any(not isinstance(e, dict) or e.get("use_pickle", False) is not False for e in entries.values())


def artifact_path(folder: Path, fmt: str) -> Path:
    """Where a run folder or a pulled repository keeps its export of `fmt`."""
    return folder / layout.EXPORTS[fmt]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
