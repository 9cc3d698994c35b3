"""`zoo export` and `zoo serve`: a model carried out of zoo, checked."""

from __future__ import annotations

from typing import Annotated

import typer

from zoo.cli import render
from zoo.cli.options import HubOption, JsonOption, check_hub, check_paths, check_target

TARGET = typer.Argument(
    help="A model with pretrained weights, a run folder, or ORG/REPO[@REV].", metavar="MODEL|RUN_DIR"
)


def export(
    target: Annotated[str, TARGET],
    fmt: Annotated[str, typer.Option("--format", help="pt2 (torch.export) or onnx (onnxruntime).")],
    out: Annotated[
        str | None, typer.Option(help="The file to write (default: model.FORMAT in a run folder, else NAME.FORMAT).")
    ] = None,
    opset: Annotated[int | None, typer.Option(help="The ONNX opset (default: torch.onnx's).")] = None,
    atol: Annotated[float, typer.Option(help="The parity gate's absolute tolerance.")] = 1e-4,
    rtol: Annotated[float, typer.Option(help="The parity gate's relative tolerance.")] = 1e-4,
    data_dir: Annotated[
        str | None, typer.Option(help="The dataset the gate takes its samples from (default: the adapter's).")
    ] = None,
    hub: HubOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export a model to torch.export or ONNX, written only when it passes the parity gate against eager PyTorch."""
    from zoo.jobs.export import ParityFailed, export

    check_target(target, "MODEL|RUN_DIR")
    check_paths(**{"--out": out, "--data-dir": data_dir})
    check_hub(hub)
    try:
        result = export(target, fmt, out, opset, atol, rtol, hub=hub, data_dir=data_dir)
    except ParityFailed as exc:
        if as_json:
            render.print_json({"model": target, "format": fmt, "path": None, "parity": exc.parity})
        raise
    if as_json:
        render.print_json(result)
        return
    p = result["parity"]
    render.echo(f"wrote {result['path']} ({result['size'] / 1e6:.1f} MB, sha256:{result['sha256']})")
    render.echo(
        f"parity: max |diff| {p['max_abs']:.3g}, relative {p['max_rel']:.3g} (atol {p['atol']:g}, rtol {p['rtol']:g}); "
        f"{p['agreement']['name']} agreement {p['agreement']['value']:.0%} over {p['samples']} samples "
        f"at batch sizes {', '.join(map(str, p['batch_sizes']))} ({p['source']})"
    )
