"""`zoo list` and `zoo info`."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

import zoo
from zoo.cli import render
from zoo.cli.options import HubOption, JsonOption, complete_models
from zoo.cli.render import Column


def list_(
    pattern: Annotated[
        str, typer.Argument(help="fnmatch pattern on model names, e.g. 'resnet*'.", metavar="PATTERN")
    ] = "*",
    task: Annotated[str | None, typer.Option(help="Only models of this task.")] = None,
    plugin: Annotated[str | None, typer.Option(help="Only models of this plugin.")] = None,
    pretrained: Annotated[bool, typer.Option("--pretrained", help="Only models with catalog weights.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List the models that installed plugins provide."""
    rows = zoo.model_summaries(pattern, task=task, plugin=plugin, pretrained=True if pretrained else None)
    if as_json:
        render.print_json(rows)
        return
    columns = [
        Column("Name"),
        Column("Plugin", drop=3),
        Column("Task", shorten_to=12, drop=4),
        Column("Params"),
        Column("Pretrained", shorten_to=12, drop=2),
        Column("Description", shorten_to=16, drop=1),
    ]
    render.print_table(
        columns,
        (
            (r["name"], r["plugin"], r["task"], render.human(r["params"]), ", ".join(r["pretrained"]) or "-",
             r["description"])
            for r in rows
        ),
    )  # fmt: skip
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
    as_json: JsonOption = False,
) -> None:
    """Show a model: its plugin, task, parameters, datasets, recipes and pretrained weights (or what a repo is)."""
    data = zoo.model_info(name, hub=hub)
    if as_json:
        render.print_json(data)
        return

    if "repo_id" in data:
        _show_repo(data)
        return
    render.print_heading(data["name"], f" ({data['qualified_name']}): {data['description']}")
    fields = []
    for key in ("task", "plugin", "params", "default_recipe", "datasets", "recipes"):
        value = data[key]
        if key == "params":
            value = f"{value:,}" if value is not None else "?"
        elif isinstance(value, list):
            value = ", ".join(value) or "-"
        fields.append((key, value if value is not None else "-"))
    render.print_fields(fields)
    for w in data["weights"]:
        render.echo("")
        render.print_heading(w["name"], " (default)" if w["default"] else "")
        render.print_fields(
            [
                ("source", f"{w['source']} @ {w['revision']}"),
                ("pinned", "yes" if w["pinned"] else "no (run 'zoo pin' online)"),
                ("license", w["license"] or "-"),
                *w["metrics"].items(),
            ]
        )


def _labels_text(labels: dict[str, Any] | None) -> str:
    if not labels:
        return "-"
    if "set" in labels:
        return labels["set"]
    return f"{labels['count']} ({', '.join(labels['first'])}, ...)"


def _show_repo(data: dict[str, Any]) -> None:
    claimed = data["claimed"]
    source = f"{claimed['library']} {claimed['architecture']}" if claimed else "published with zoo"
    render.print_heading(data["repo_id"], f" @ {data['revision']}: {source}")
    rows = {
        "model": f"{data['name']} ({data['qualified_name']})",
        "task": data["task"],
        "params": f"{data['params']:,}" if data["params"] is not None else "?",
        "claimed by": f"plugin {claimed['plugin']}" if claimed else "-",
        "labels": _labels_text(data["labels"]),
        **{f"preprocessing.{k}": v for k, v in data["preprocessing"].items()},
        **data["metrics"],
    }
    render.print_fields(rows.items())
