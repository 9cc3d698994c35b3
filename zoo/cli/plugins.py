"""`zoo plugins` (show, install, uninstall) and `zoo plugin` (new, check), for users and plugin authors."""

from __future__ import annotations

from typing import Annotated

import typer

import zoo
from zoo.cli import render
from zoo.cli.options import JsonOption, check_outputs
from zoo.cli.render import Column

plugins_app = typer.Typer(
    help="Show installed plugins (no subcommand), or install and uninstall them with pip.",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@plugins_app.callback()
def plugins(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show each installed plugin: its distribution, version, status and error."""
    if ctx.invoked_subcommand is not None:
        return
    rows = zoo.list_plugins()
    if as_json:
        render.print_json(rows)
        return
    from rich.text import Text

    columns = [
        Column("Plugin"),
        Column("Distribution", shorten_to=12, drop=2),
        Column("Version", drop=1),
        Column("Status"),
        *(Column(kind, drop=3) for kind in ("Models", "Datasets", "Recipes", "Loggers")),
        Column("Error", shorten_to=20, wrap=True),
    ]
    render.print_table(
        columns,
        (
            (
                r["name"],
                r["distribution"] or "-",
                r["version"] or "-",
                Text("ok", "green") if r["status"] == "ok" else Text("error", "red"),
                *(len(r[kind]) for kind in ("models", "datasets", "recipes", "loggers")),
                r["error"] or "",
            )
            for r in rows
        ),
    )


@plugins_app.command("install")
def plugins_install(
    names: Annotated[list[str] | None, typer.Argument(help="Distributions, e.g. zoo-foo or zoo-foo>=1.2.")] = None,
    editable: Annotated[str | None, typer.Option("--editable", "-e", help="Install a local checkout.")] = None,
    upgrade: Annotated[bool, typer.Option("--upgrade", "-U", help="Upgrade if already installed.")] = False,
) -> None:
    """pip install plugins into zoo's own environment."""
    from zoo.jobs.plugin_install import install

    install(names or [], editable=editable, upgrade=upgrade)


@plugins_app.command("uninstall")
def plugins_uninstall(names: Annotated[list[str], typer.Argument(help="Distributions to remove.")]) -> None:
    """pip uninstall plugins from zoo's own environment."""
    from zoo.jobs.plugin_install import uninstall

    uninstall(names)


plugin_app = typer.Typer(
    help="For plugin authors: scaffold a new plugin, or check one against zoo's plugin contract.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@plugin_app.command("new")
def plugin_new(
    name: Annotated[str, typer.Argument(help="The plugin's name: lowercase letters, digits and '_'.")],
    directory: Annotated[str, typer.Option("--dir", help="Where to create zoo-NAME/.")] = ".",
) -> None:
    """Create a working plugin distribution zoo-NAME: a model, a dataset adapter, a recipe, tests, a README."""
    check_outputs(**{"--dir": directory})

    from zoo.jobs.scaffold import names, new_plugin

    folder = new_plugin(name, directory)
    render.echo(f"Created {folder}")
    render.echo(f"Next: pip install -e {folder} && zoo train {names(name)['name']}_mlp && pytest {folder}")


@plugin_app.command("check")
def plugin_check(
    name: Annotated[str, typer.Argument(help="An installed plugin's name (see zoo plugins).")],
    as_json: JsonOption = False,
) -> None:
    """Run zoo's conformance suite on an installed plugin; exit 1 if it breaks the contract."""
    from zoo.testing import check_plugin

    report = check_plugin(name)
    if as_json:
        render.print_json(report.to_json())
    else:
        for check in report.checks:  # one line each: a plugin's message cannot add a line that reads as a check
            render.echo(check.line())
        render.echo(f"{name}: {len(report.checks) - len(report.failures)} checks passed, {len(report.failures)} failed")
    if not report.ok:
        raise SystemExit(1)
