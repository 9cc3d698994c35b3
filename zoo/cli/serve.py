"""`zoo serve`: a model behind HTTP (LitServe), in the foreground until Ctrl-C."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from zoo.cli.options import HubOption, check_hub, check_target
from zoo.core.text import printable

TARGET = "MODEL|RUN_DIR"


def serve(
    target: Annotated[str, typer.Argument(help="A run folder, a model, or ORG/REPO[@REV].", metavar=TARGET)],
    host: Annotated[str, typer.Option(help="Where to listen: 127.0.0.1, 0.0.0.0 or ::.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.")] = 8000,
    max_batch_size: Annotated[int, typer.Option(help="The most requests one forward pass takes.")] = 8,
    batch_timeout: Annotated[float, typer.Option(help="Seconds to wait for a batch to fill.")] = 0.01,
    workers: Annotated[int, typer.Option(help="Inference worker processes per device.")] = 1,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda or mps.")] = None,
    hub: HubOption = None,
) -> None:
    """Serve a model over HTTP: POST /predict answers as 'zoo predict --json' does; GET / is a page to try it."""
    from zoo.jobs.serve import ServeOptions, serve

    check_target(target, TARGET)
    check_hub(hub)
    options = ServeOptions(host, port, max_batch_size, batch_timeout, workers, device, hub)
    serve(target, options, on_ready=_listening)


def _listening(info: dict[str, Any], url: str) -> None:
    line = f"zoo serve: {info['model']} on {url} (POST /predict; page at /; Ctrl-C to stop)"
    sys.stderr.write(printable(line, keep_newlines=False) + "\n")
    sys.stderr.flush()
