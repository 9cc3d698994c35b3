"""`zoo runs [DIR]` and `zoo runs show RUN_DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from zoo.cli import render
from zoo.cli.options import JsonOption, check_paths
from zoo.cli.render import Column
from zoo.core.errors import UsageError


def runs_(
    args: Annotated[
        list[str] | None,
        typer.Argument(help="DIR to search (default: runs/), or: show RUN_DIR.", metavar="[DIR] | show RUN_DIR"),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the finished runs under DIR as a table, or show one run's epochs and curves ('zoo runs show RUN_DIR')."""
    from zoo.jobs.runs_listing import DEFAULT_ROOT, list_runs, show_run

    args = list(args or [])
    if args[:1] == ["show"]:
        if len(args) != 2:
            raise UsageError("'zoo runs show' takes one run folder: zoo runs show RUN_DIR")
        check_paths(RUN_DIR=args[1])
        shown = show_run(args[1])
        if as_json:
            render.print_json(shown)
        else:
            _show_run(shown)
        return
    if len(args) > 1:
        raise UsageError("'zoo runs' takes one folder to search (zoo runs [DIR]), or 'show RUN_DIR'")
    root = args[0] if args else DEFAULT_ROOT
    check_paths(DIR=root)
    if not args and not Path(root).is_dir():
        rows: list[dict[str, Any]] = []
    else:
        rows = list_runs(root)
    if as_json:
        render.print_json(rows)
        return
    if not rows:
        render.echo(f"No finished runs under {root}/. Train one with 'zoo train MODEL'.")
        return
    # Nine columns: on a narrow terminal the least telling give way first, and no cell is ever split.
    columns = [
        Column("Run", shorten_to=12),
        Column("Model", shorten_to=10),
        Column("Recipe", shorten_to=10, drop=3),
        Column("Dataset", shorten_to=10, drop=4),
        Column("Metric"),
        Column("Epochs", drop=5),
        Column("Wall time", drop=2),
        Column("Date", drop=6),
        Column("Published", shorten_to=16, drop=1),
    ]
    render.print_table(columns, (_run_row(r) for r in rows))


def _run_row(r: dict[str, Any]) -> tuple[Any, ...]:
    return (
        r["run_dir"],
        r["model"],
        r["recipe"],
        r["dataset"] or "-",
        f"{r['metric']['name']} {r['metric']['value']:.4g}" if r["metric"] else "-",
        r["epochs"] or "-",
        f"{r['seconds']:.1f} s" if isinstance(r["seconds"], (int, float)) else "-",
        (r["finished"] or "-")[:16].replace("T", " "),
        render.short_revision(r["published"]) or "-",
    )


def _show_run(shown: dict[str, Any]) -> None:
    from zoo.cli.textchart import bar_chart
    from zoo.store.curves import loss_key, series

    history, best = shown["history"], shown["best_epoch"]
    metric = shown["metric"]["name"] if shown["metric"] else None
    render.echo(f"{shown['run_dir']}: {shown['model']} ({shown['recipe']} on {shown['dataset']})")
    keys = list(dict.fromkeys(k for row in history for k in row if k != "epoch"))
    # the last columns give way first on a narrow terminal
    columns = ["Epoch", *(Column(k, drop=len(keys) - i) for i, k in enumerate(keys))]
    render.print_table(
        columns,
        (
            (
                f"{row['epoch']}{' *' if row['epoch'] == best else ''}",
                *(f"{v:.4g}" if isinstance(v, float) else str(v) for v in (row.get(k, "") for k in keys)),
            )
            for row in history
        ),
    )
    for key in dict.fromkeys([loss_key(history), *([metric] if metric else [])]):
        epochs, values = series(history, key)
        render.echo("")
        for line in bar_chart(key, epochs, values, best):
            render.echo(line)
