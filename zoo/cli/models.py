"""`zoo list` and `zoo info`."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

import zoo
from zoo.cli import render
from zoo.cli.options import HubOption, complete_models
from zoo.core.text import printable


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
    if as_json:
        render.print_json(rows)
        return
    table = render.table("Name", "Plugin", "Task", "Params", "Pretrained", "Description")
    for row in rows:
        render.add_row(
            table,
            row["name"],
            row["plugin"],
            row["task"],
            render.human(row["params"]),
            ", ".join(row["pretrained"]) or "-",
            row["description"],
        )
    render.console().print(table)
    if not rows:
        sys.stderr.write("No model matches. Run 'zoo list' without filters, or 'zoo plugins' to see what loaded.\n")


def info(
    name: Annotated[
        str,
        typer.Argument(
            help="A model (resnet18, resnet:resnet18), weights (resnet18.tv_in1k), or a Hub repo ORG/NAME[@REV] "
            "published with zoo or claimed by a plugin (timm/resnet50.a1_in1k).",
            autocompletion=complete_models,
            metavar="NAME",
        ),
    ],
    hub: HubOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Show a model: its plugin, task, parameters, datasets, recipes and pretrained weights (or what a repo is)."""
    data = zoo.model_info(name, hub=hub)
    if as_json:
        render.print_json(data)
        return
    from rich.text import Text

    console = render.console()
    if "repo_id" in data:
        _show_repo(console, data)
        return
    console.print(
        Text.assemble((data["name"], "bold"), printable(f" ({data['qualified_name']}): {data['description']}"))
    )
    fields = render.table("Field", "Value")
    fields.show_header = False
    for key in ("task", "plugin", "params", "default_recipe", "datasets", "recipes"):
        value = data[key]
        if key == "params":
            value = f"{value:,}" if value is not None else "?"
        elif isinstance(value, list):
            value = ", ".join(value) or "-"
        render.add_row(fields, key, value if value is not None else "-")
    console.print(fields)
    for w in data["weights"]:
        console.print(Text.assemble("\n", (printable(w["name"]), "bold"), " (default)" if w["default"] else ""))
        weights = render.table("Field", "Value")
        weights.show_header = False
        render.add_row(weights, "source", f"{w['source']} @ {w['revision']}")
        render.add_row(weights, "pinned", "yes" if w["pinned"] else "no (run 'zoo pin' online)")
        render.add_row(weights, "license", w["license"] or "-")
        for metric, value in w["metrics"].items():
            render.add_row(weights, metric, value)
        console.print(weights)


def _labels_text(labels: dict[str, Any] | None) -> str:
    if not labels:
        return "-"
    if "set" in labels:
        return labels["set"]
    return f"{labels['count']} ({', '.join(labels['first'])}, ...)"


def _show_repo(console: Any, data: dict[str, Any]) -> None:
    from rich.text import Text

    claimed = data["claimed"]
    source = f"{claimed['library']} {claimed['architecture']}" if claimed else "published with zoo"
    console.print(Text.assemble((data["repo_id"], "bold"), printable(f" @ {data['revision']}: {source}")))
    fields = render.table("Field", "Value")
    fields.show_header = False
    labels = data["labels"]
    rows = {
        "model": f"{data['name']} ({data['qualified_name']})",
        "task": data["task"],
        "params": f"{data['params']:,}" if data["params"] is not None else "?",
        "claimed by": f"plugin {claimed['plugin']}" if claimed else "-",
        "labels": _labels_text(labels),
        **{f"preprocessing.{k}": v for k, v in data["preprocessing"].items()},
        **data["metrics"],
    }
    for key, value in rows.items():
        render.add_row(fields, key, value)
    console.print(fields)
