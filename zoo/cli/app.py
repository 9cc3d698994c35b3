"""The `zoo` command line: each command parses its arguments, calls zoo's Python API and renders the result.

Errors are one line on stderr and an exit code (2: usage, 1: runtime); a traceback only with --debug.
"""

from __future__ import annotations

import io
import os
import sys
from typing import Annotated

import typer

from zoo._version import __version__
from zoo.cli import deploy, hub, models, plugins, runs, serve, training
from zoo.core.errors import ZooError, shown_once
from zoo.core.fs import os_error_line
from zoo.core.text import printable
from zoo.registry.discovery import add_commands
from zoo.registry.merged import get_registry

app = typer.Typer(
    name="zoo",
    help="A plugin-based model zoo for PyTorch: list, pull, train, evaluate, predict and publish models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _debug() -> bool:
    return os.environ.get("ZOO_DEBUG", "").strip() not in ("", "0") or "--debug" in sys.argv[1:]


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"zoo {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[  # noqa: ARG001 - handled by its eager callback
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print zoo's version and exit."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors (or set ZOO_DEBUG=1).")] = False,
) -> None:
    """zoo: models, datasets and recipes from plugins; pretrained weights from the Hugging Face Hub."""
    if debug:
        os.environ["ZOO_DEBUG"] = "1"  # training's worker processes show their tracebacks too


# The commands, one module per group, in the order `zoo --help` lists them.
app.command("list")(models.list_)
app.command()(models.info)
app.add_typer(plugins.plugins_app, name="plugins")
app.add_typer(plugins.plugin_app, name="plugin")
app.command()(hub.pull)
app.command()(hub.publish)
app.command()(hub.pin)
app.command()(hub.search)
app.command()(training.train)
app.command("runs")(runs.runs_)
app.command()(training.reproduce)
app.command("eval")(training.eval_)
app.command("predict")(training.predict_)
app.command()(deploy.export)
app.command()(serve.serve)


def _fail(exc: ZooError) -> None:
    message = " ".join(str(exc).split("\n")) if str(exc) else type(exc).__name__
    sys.stderr.write(f"Error: {printable(message, keep_newlines=False)}\n")
    raise SystemExit(exc.exit_code)


def main() -> None:
    """Console entry point: load plugins (and their commands), run the app, turn errors into exit codes."""
    with shown_once():
        _run()


def _run() -> None:
    try:
        add_commands(get_registry().plugin_set, app)
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            raise SystemExit(code)
    except ZooError as exc:
        if _debug():
            raise
        _fail(exc)
    except typer.Abort:
        sys.stderr.write("Aborted.\n")
        raise SystemExit(130) from None
    except typer.TyperException as exc:  # usage errors: bad flags, missing arguments
        show = getattr(exc, "show", None)
        if show is None:
            sys.stderr.write(f"Error: {printable(str(exc))}\n")
        else:
            shown = io.StringIO()
            show(file=shown)  # it repeats what the user typed: no raw control characters to the terminal
            sys.stderr.write(printable(shown.getvalue()))
        raise SystemExit(getattr(exc, "exit_code", 2)) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except OSError as exc:  # the last line of defence: each refusal should have been named where it arose
        if _debug():
            raise
        sys.stderr.write(f"Error: {printable(os_error_line(exc), keep_newlines=False)}\n")
        raise SystemExit(1) from None
    except Exception as exc:
        if _debug():
            raise
        sys.stderr.write(
            f"Error: unexpected {type(exc).__name__}: {printable(str(exc), keep_newlines=False)}. "
            "Run again with --debug for the traceback, and report it.\n"
        )
        raise SystemExit(1) from None
