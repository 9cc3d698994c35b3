"""`zoo export`: a model (name, run folder or repo) to a torch.export program (.pt2) or an ONNX file, written only
after the parity gate: real samples of the model's task, at batch sizes 1 and 7, through eager PyTorch and through
the exported file read back, must agree within |exported - eager| <= atol + rtol * |eager| elementwise."""

from __future__ import annotations

import contextlib
import hashlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zoo.core.atomic import write_bytes
from zoo.core.errors import UsageError, ZooError, warn
from zoo.core.fs import check_writable
from zoo.jobs import artifacts
from zoo.jobs.artifacts import FORMATS

#: batch size 1 and one that is not a power of two; the export traces the larger
BATCH_SIZES = (1, 7)
ATOL = RTOL = 1e-4
#: outputs (logits, scores) past this are a random init's, not a trained model's
UNTRAINED_SCALE = 1e4


@dataclass
class Parity:
    """The gate's figures over every sample checked."""

    max_abs: float = 0.0
    #: max |exported - eager| / max |eager|, over each output
    max_rel: float = 0.0
    #: the largest |exported - eager| - (atol + rtol * |eager|): positive means the gate fails
    worst_excess: float = float("-inf")
    agreeing: int = 0
    total: int = 0
    agreement_name: str = ""
    samples: int = 0
    #: the largest |eager| output: far past a trained model's scale, the relative figure says little
    max_eager: float = 0.0

    def add(self, eager: list[Any], exported: list[Any], atol: float, rtol: float) -> None:
        import torch

        if len(eager) != len(exported):
            raise ZooError(f"the export returns {len(exported)} outputs where the model returns {len(eager)}")
        for a, b in zip(eager, exported, strict=True):
            a, b = a.detach().double().cpu(), b.detach().double().cpu()
            if a.shape != b.shape:
                raise ZooError(f"the export returns an output of shape {tuple(b.shape)} for {tuple(a.shape)}")
            diff = (b - a).abs()
            if not torch.isfinite(b).all() and torch.isfinite(a).all():
                diff = torch.where(torch.isfinite(b), diff, torch.full_like(diff, float("inf")))
            top = float(a.abs().max()) if a.numel() else 0.0
            worst = float(diff.max()) if diff.numel() else 0.0
            self.max_abs = max(self.max_abs, worst)
            self.max_eager = max(self.max_eager, top)
            self.max_rel = max(self.max_rel, worst / top if top else (0.0 if worst == 0 else float("inf")))
            if diff.numel():
                self.worst_excess = max(self.worst_excess, float((diff - (atol + rtol * a.abs())).max()))

    @property
    def passed(self) -> bool:
        return self.worst_excess <= 0

    def report(self, atol: float, rtol: float, source: str) -> dict[str, Any]:
        return {
            "max_abs": self.max_abs,
            "max_rel": self.max_rel,
            "max_eager": self.max_eager,
            "agreement": {"name": self.agreement_name, "value": self.agreeing / max(1, self.total)},
            "samples": self.samples,
            "batch_sizes": list(BATCH_SIZES),
            "atol": atol,
            "rtol": rtol,
            "source": source,
            "passed": self.passed,
        }


def export(
    target: str,
    fmt: str,
    out: str | None = None,
    opset: int | None = None,
    atol: float = ATOL,
    rtol: float = RTOL,
    hub: str | None = None,
    data_dir: str | None = None,
) -> dict[str, Any]:
    """Export `target` to `fmt`, check it, and write it (nothing is written when the gate fails: exit 1)."""
    from zoo.jobs.inference import load_for_inference

    check_options(fmt, atol, rtol, opset)
    recipe, model, config = load_for_inference(target, data_dir=data_dir, device="cpu", hub=hub)
    path = output_path(target, fmt, out, recipe.run_folder if Path(target).is_dir() else None)
    result = export_loaded(recipe, model, config, fmt, opset, atol, rtol)
    write_bytes(path, result.pop("data"))
    return {"model": target, "format": fmt, "path": str(path), **result}


def export_loaded(
    recipe: Any, model: Any, config: dict[str, Any], fmt: str, opset: int | None, atol: float, rtol: float
) -> dict[str, Any]:
    """The exported file's bytes, sha256 and size, and the gate's figures; a ZooError when the gate fails."""
    name = config.get("model", recipe.model_spec.name)
    traced = example_inputs(recipe, max(BATCH_SIZES))
    data = (_to_pt2 if fmt == "pt2" else _to_onnx)(model, traced, name, opset)
    exported = artifacts.load(data, fmt, f"the {fmt} export of {name}")
    parity = gate(recipe, model, exported, atol, rtol, f"the {fmt} export of {name}")
    report = parity.report(atol, rtol, traced.source)
    if parity.max_eager > UNTRAINED_SCALE:
        warn(
            f"{name}'s outputs reach {parity.max_eager:.3g}: weights this far from a trained model's scale make the "
            "gate's relative figures say little; export trained or pretrained weights"
        )
    if not parity.passed:
        raise ParityFailed(
            f"the {fmt} export of {name} fails the parity gate: max |exported - eager| {parity.max_abs:.3g} "
            f"(relative {parity.max_rel:.3g}) is past atol {atol:g} + rtol {rtol:g} x |eager|; "
            f"{report['agreement']['name']} agreement {report['agreement']['value']:.1%}. Nothing was written.",
            report,
        )
    return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "parity": report, "data": data}


class ParityFailed(ZooError):
    """The export does not compute what the model computes: exit 1, with the figures."""

    def __init__(self, message: str, parity: dict[str, Any]) -> None:
        super().__init__(message)
        self.parity = parity


def check_options(fmt: str, atol: float, rtol: float, opset: int | None) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    for flag, value in (("--atol", atol), ("--rtol", rtol)):
        if not (0 <= value < 1):  # also refuses nan
            raise UsageError(f"{flag} must be in [0, 1), got {value}")
    if opset is not None:
        if fmt != "onnx":
            raise UsageError("--opset applies to --format onnx only")
        if not 18 <= opset <= 23:
            raise UsageError(f"--opset must be in 18..23 (the opsets torch.onnx.export writes), got {opset}")


def output_path(target: str, fmt: str, out: str | None, run_folder: Path | None) -> Path:
    """--out, else model.FMT in the run folder, else NAME.FMT in the current folder."""
    suffix = f".{fmt}"
    if out is not None:
        path = Path(out)
        if path.suffix != suffix:
            raise UsageError(f"--out must end in {suffix} for --format {fmt}, got {out!r}")
    elif run_folder is not None:
        path = artifacts.artifact_path(run_folder, fmt)
    else:
        path = Path(target.split("@")[0].rstrip("/").rpartition("/")[2] + suffix)
    if path.is_dir():
        raise UsageError(f"--out {path} is a folder: give a file name ending in {suffix}")
    check_writable(path.parent if str(path.parent) else Path("."), "the export's folder")
    return path


def example_inputs(recipe: Any, batch_size: int) -> Any:
    """The recipe's example inputs, or one line on what the plugin lacks."""
    try:
        inputs = recipe.example_inputs(batch_size)
    except NotImplementedError as exc:
        spec = recipe.recipe_spec
        owner = f"recipe '{spec.qualified_name}'" if spec is not None else type(recipe).__name__
        raise UsageError(
            f"{recipe.model_spec.qualified_name} cannot be exported: {owner} of task '{recipe.model_spec.task}': {exc}"
        ) from None
    return inputs


def dynamic_shapes(inputs: Any) -> tuple[dict[int, Any], ...]:
    """torch.export's Dims for the inputs' axes; axes of one name share one Dim."""
    from torch.export import Dim

    dims: dict[str, Any] = {}
    for axes in inputs.axes:
        for axis in axes.values():
            dims.setdefault(axis.name, Dim(axis.name, min=axis.min, max=axis.max))
    return tuple({d: dims[a.name] for d, a in axes.items()} for axes in inputs.axes)


def _to_pt2(model: Any, inputs: Any, name: str, opset: int | None) -> bytes:  # noqa: ARG001
    import io

    import torch

    try:
        with quiet_torch():
            program = torch.export.export(model, inputs.tensors, dynamic_shapes=dynamic_shapes(inputs), strict=False)
    except Exception as exc:  # torch.export raises many types; each is the model's, and one line says which
        raise ZooError(f"torch.export cannot export {name}: {_first_line(exc)}") from None
    program.example_inputs = None  # saved, they would be a pickle
    buffer = io.BytesIO()
    torch.export.save(program, buffer, extra_files={artifacts.PT2_META: artifacts.describe(name, "pt2", inputs)})
    return buffer.getvalue()


def _to_onnx(model: Any, inputs: Any, name: str, opset: int | None) -> bytes:
    import torch

    try:
        with quiet_torch():
            program = torch.onnx.export(
                model,
                inputs.tensors,
                dynamo=True,
                dynamic_shapes=dynamic_shapes(inputs),
                input_names=list(inputs.names),
                opset_version=opset,
                external_data=False,
                verbose=False,
            )
    except Exception as exc:  # as above: one line naming the model and the exporter's reason
        raise ZooError(f"torch.onnx.export cannot export {name}: {_first_line(exc)}") from None
    proto = program.model_proto
    entry = proto.metadata_props.add()
    entry.key, entry.value = artifacts.META_KEY, artifacts.describe(name, "onnx", inputs)
    return proto.SerializeToString()


@contextlib.contextmanager
def quiet_torch() -> Iterator[None]:
    """The exporters' own warnings (guards, graph dumps, fallbacks) kept off the terminal: an export that fails
    says why in one line, and the gate's figures say how well one that succeeds computes."""
    import logging

    loggers = [logging.getLogger(n) for n in list(logging.root.manager.loggerDict) if n.split(".")[0] == "torch"]
    loggers.append(logging.getLogger("torch"))
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")  # and what they print (graph dumps) is dropped: the error says why
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def gate(recipe: Any, model: Any, exported: Any, atol: float, rtol: float, where: str = "the export") -> Parity:
    """Eager against exported at each batch size; the batch of 1 also takes a shorter length on every other
    dynamic axis, so the export is checked at a size it was not traced with."""
    import torch

    parity = Parity()
    for size in BATCH_SIZES:
        inputs = example_inputs(recipe, size)
        if size == 1:
            inputs = shortened(inputs)
        with torch.no_grad():
            eager = _tensors(model(*inputs.tensors))
        try:
            ran = _tensors(exported(*inputs.tensors))
        except Exception as exc:  # e.g. an axis the recipe did not declare dynamic: the runtime's error, one line
            raise ZooError(f"{where} cannot run the gate's batch of {size}: {_first_line(exc)}") from None
        parity.add(eager, ran, atol, rtol)
        agreement = recipe.agreement(eager[0], ran[0], inputs)
        parity.agreement_name = agreement.name
        parity.agreeing += agreement.agreeing
        parity.total += agreement.total
        parity.samples += size
    return parity


def shortened(inputs: Any) -> Any:
    """The inputs cut to three quarters along each dynamic axis other than the batch (not below its minimum)."""
    tensors = []
    for tensor, axes in zip(inputs.tensors, inputs.axes, strict=True):
        for dim, axis in axes.items():
            if dim != 0:
                tensor = tensor.narrow(dim, 0, max(axis.min, tensor.shape[dim] * 3 // 4))
        tensors.append(tensor)
    inputs.tensors = tuple(tensors)
    return inputs


def _tensors(output: Any) -> list[Any]:
    if isinstance(output, (tuple, list)):
        return [t for o in output for t in _tensors(o)]
    return [] if output is None else [output]


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:300]
