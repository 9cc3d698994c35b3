"""The `zoo` command line: each command parses its arguments, calls zoo's Python API and renders the result.

Errors are one line on stderr and an exit code (2: usage, 1: runtime); a traceback only with --debug.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any

import typer

import zoo
from zoo.errors import ZooError

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
        typer.echo(f"zoo {zoo.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print zoo's version and exit."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors (or set ZOO_DEBUG=1).")] = False,
) -> None:
    """zoo: models, datasets and recipes from plugins; pretrained weights from the Hugging Face Hub."""


def _complete_models(incomplete: str) -> list[str]:
    try:
        return [n for n in zoo.list_models() if n.startswith(incomplete)]
    except ZooError:
        return []


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def _flush_warnings() -> None:
    registry = zoo.get_registry()
    for message in registry.warnings:
        sys.stderr.write(f"warning: {message}\n")
    registry.warnings.clear()


def _human(count: int | None) -> str:
    if count is None:
        return "?"
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= size:
            return f"{count / size:.1f}{unit}"
    return str(count)


def _table(*columns: str):
    """A borderless Rich table; the last column gives way first on a narrow terminal."""
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in columns[:-1]:
        table.add_column(column, no_wrap=True)
    table.add_column(columns[-1], overflow="fold", ratio=1)
    return table


def _add_row(table: Any, *values: Any) -> None:
    """Add cells as plain text: names and descriptions come from plugins and must not be read as markup."""
    from rich.text import Text

    table.add_row(*(v if isinstance(v, Text) else Text(str(v)) for v in values))


def _console():
    from rich.console import Console

    return Console()


@app.command("list")
def list_(
    pattern: Annotated[
        str, typer.Argument(help="fnmatch pattern on model names, e.g. 'resnet*'.", metavar="PATTERN")
    ] = "*",
    task: Annotated[str | None, typer.Option(help="Only models of this task.")] = None,
    plugin: Annotated[str | None, typer.Option(help="Only models of this plugin.")] = None,
    pretrained: Annotated[bool, typer.Option("--pretrained", help="Only models with catalog weights.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """List the models that installed plugins provide."""
    rows = zoo.model_summaries(pattern, task=task, plugin=plugin, pretrained=True if pretrained else None)
    _flush_warnings()
    if as_json:
        _print_json(rows)
        return
    table = _table("Name", "Plugin", "Task", "Params", "Pretrained", "Description")
    for row in rows:
        _add_row(
            table,
            row["name"],
            row["plugin"],
            row["task"],
            _human(row["params"]),
            ", ".join(row["pretrained"]) or "-",
            row["description"],
        )
    _console().print(table)
    if not rows:
        sys.stderr.write("No model matches. Run 'zoo list' without filters, or 'zoo plugins' to see what loaded.\n")


@app.command()
def info(
    name: Annotated[
        str,
        typer.Argument(
            help="A model (resnet18, resnet:resnet18) or weights (resnet18.tv_in1k).",
            autocompletion=_complete_models,
            metavar="NAME",
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Show a model: its plugin, task, parameters, datasets, recipes and pretrained weights."""
    data = zoo.model_info(name)
    _flush_warnings()
    if as_json:
        _print_json(data)
        return
    from rich.text import Text

    console = _console()
    console.print(Text.assemble((data["name"], "bold"), f" ({data['qualified_name']}): {data['description']}"))
    fields = _table("Field", "Value")
    fields.show_header = False
    for key in ("task", "plugin", "params", "default_recipe", "datasets", "recipes"):
        value = data[key]
        if key == "params":
            value = f"{value:,}" if value is not None else "?"
        elif isinstance(value, list):
            value = ", ".join(value) or "-"
        _add_row(fields, key, value if value is not None else "-")
    console.print(fields)
    for w in data["weights"]:
        console.print(Text.assemble("\n", (w["name"], "bold"), " (default)" if w["default"] else ""))
        weights = _table("Field", "Value")
        weights.show_header = False
        _add_row(weights, "source", f"{w['source']} @ {w['revision']}")
        _add_row(weights, "pinned", "yes" if w["pinned"] else "no (run 'zoo pin' online)")
        _add_row(weights, "license", w["license"] or "-")
        for metric, value in w["metrics"].items():
            _add_row(weights, metric, value)
        console.print(weights)


@app.command()
def plugins(as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False) -> None:
    """Show each installed plugin: its distribution, version, status and error."""
    rows = zoo.list_plugins()
    _flush_warnings()
    if as_json:
        _print_json(rows)
        return
    from rich.text import Text

    table = _table("Plugin", "Distribution", "Version", "Status", "Models", "Datasets", "Recipes", "Error")
    for r in rows:
        status = Text("ok", "green") if r["status"] == "ok" else Text("error", "red")
        _add_row(
            table,
            r["name"],
            r["distribution"] or "-",
            r["version"] or "-",
            status,
            len(r["models"]),
            len(r["datasets"]),
            len(r["recipes"]),
            r["error"] or "",
        )
    _console().print(table)


def _fail(exc: ZooError) -> None:
    message = " ".join(str(exc).split("\n")) if str(exc) else type(exc).__name__
    sys.stderr.write(f"Error: {message}\n")
    raise SystemExit(exc.exit_code)


def main() -> None:
    """Console entry point: load plugins (and their commands), run the app, turn errors into exit codes."""
    try:
        from zoo.plugins import add_commands

        add_commands(zoo.get_registry().plugin_set, app)
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
            sys.stderr.write(f"Error: {exc}\n")
        else:
            show()
        raise SystemExit(getattr(exc, "exit_code", 2)) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as exc:
        if _debug():
            raise
        sys.stderr.write(
            f"Error: unexpected {type(exc).__name__}: {exc}. Run again with --debug for the traceback, and report it.\n"
        )
        raise SystemExit(1) from None
