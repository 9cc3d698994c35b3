"""The `zoo` command line: each command parses its arguments, calls zoo's Python API and renders the result.

Errors are one line on stderr and an exit code (2: usage, 1: runtime); a traceback only with --debug.
"""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

import zoo
from zoo.errors import UsageError, ZooError, shown_once
from zoo.text import printable

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
        sys.stdout.write(f"zoo {zoo.__version__}\n")
        raise typer.Exit()


HubOption = Annotated[
    str | None, typer.Option("--hub", help="A local hub folder or a Hub URL (default: ZOO_HUB, else HF_ENDPOINT).")
]


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


def _complete_models(incomplete: str) -> list[str]:
    try:
        return [n for n in zoo.list_models() if n.startswith(incomplete)]
    except ZooError:
        return []


def _echo(text: str) -> None:
    """Print a line to stdout; names and messages from repos, catalogs and files may carry control characters."""
    sys.stdout.write(printable(text) + "\n")


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


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

    table.add_row(*(v if isinstance(v, Text) else Text(printable(str(v))) for v in values))


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
            help="A model (resnet18, resnet:resnet18), weights (resnet18.tv_in1k), or a Hub repo ORG/NAME[@REV] "
            "published with zoo or claimed by a plugin (timm/resnet50.a1_in1k).",
            autocompletion=_complete_models,
            metavar="NAME",
        ),
    ],
    hub: HubOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Show a model: its plugin, task, parameters, datasets, recipes and pretrained weights (or what a repo is)."""
    data = zoo.model_info(name, hub=hub)
    if as_json:
        _print_json(data)
        return
    from rich.text import Text

    console = _console()
    if "repo_id" in data:
        _show_repo(console, data)
        return
    console.print(
        Text.assemble((data["name"], "bold"), printable(f" ({data['qualified_name']}): {data['description']}"))
    )
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
        console.print(Text.assemble("\n", (printable(w["name"]), "bold"), " (default)" if w["default"] else ""))
        weights = _table("Field", "Value")
        weights.show_header = False
        _add_row(weights, "source", f"{w['source']} @ {w['revision']}")
        _add_row(weights, "pinned", "yes" if w["pinned"] else "no (run 'zoo pin' online)")
        _add_row(weights, "license", w["license"] or "-")
        for metric, value in w["metrics"].items():
            _add_row(weights, metric, value)
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
    fields = _table("Field", "Value")
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
        _add_row(fields, key, value)
    console.print(fields)


plugins_app = typer.Typer(
    help="Show installed plugins (no subcommand), or install and uninstall them with pip.",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(plugins_app, name="plugins")


@plugins_app.callback()
def plugins(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False
) -> None:
    """Show each installed plugin: its distribution, version, status and error."""
    if ctx.invoked_subcommand is not None:
        return
    rows = zoo.list_plugins()
    if as_json:
        _print_json(rows)
        return
    from rich.text import Text

    table = _table("Plugin", "Distribution", "Version", "Status", "Models", "Datasets", "Recipes", "Loggers", "Error")
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
            len(r["loggers"]),
            r["error"] or "",
        )
    _console().print(table)


@plugins_app.command("install")
def plugins_install(
    names: Annotated[list[str] | None, typer.Argument(help="Distributions, e.g. zoo-foo or zoo-foo>=1.2.")] = None,
    editable: Annotated[str | None, typer.Option("--editable", "-e", help="Install a local checkout.")] = None,
    upgrade: Annotated[bool, typer.Option("--upgrade", "-U", help="Upgrade if already installed.")] = False,
) -> None:
    """pip install plugins into zoo's own environment."""
    from zoo.install import install

    install(names or [], editable=editable, upgrade=upgrade)


@plugins_app.command("uninstall")
def plugins_uninstall(names: Annotated[list[str], typer.Argument(help="Distributions to remove.")]) -> None:
    """pip uninstall plugins from zoo's own environment."""
    from zoo.install import uninstall

    uninstall(names)


plugin_app = typer.Typer(
    help="For plugin authors: scaffold a new plugin, or check one against zoo's plugin contract.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(plugin_app, name="plugin")


@plugin_app.command("new")
def plugin_new(
    name: Annotated[str, typer.Argument(help="The plugin's name: lowercase letters, digits and '_'.")],
    directory: Annotated[str, typer.Option("--dir", help="Where to create zoo-NAME/.")] = ".",
) -> None:
    """Create a working plugin distribution zoo-NAME: a model, a dataset adapter, a recipe, tests, a README."""
    from zoo.scaffold import names, new_plugin

    folder = new_plugin(name, directory)
    _echo(f"Created {folder}")
    _echo(f"Next: pip install -e {folder} && zoo train {names(name)['name']}_mlp && pytest {folder}")


@plugin_app.command("check")
def plugin_check(
    name: Annotated[str, typer.Argument(help="An installed plugin's name (see zoo plugins).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Run zoo's conformance suite on an installed plugin; exit 1 if it breaks the contract."""
    from zoo.testing import check_plugin

    report = check_plugin(name)
    if as_json:
        _print_json(report.to_json())
    else:
        _echo(report.summary())
        _echo(f"{name}: {len(report.checks) - len(report.failures)} checks passed, {len(report.failures)} failed")
    if not report.ok:
        raise SystemExit(1)


@app.command()
def pull(
    name: Annotated[
        str,
        typer.Argument(
            help="Weights (resnet18.tv_in1k), a model's default weights (resnet18), "
            "or a repo ORG/NAME[@REV] published with zoo or claimed by a plugin.",
            autocompletion=_complete_models,
            metavar="NAME",
        ),
    ],
    revision: Annotated[str | None, typer.Option(help="Branch, tag or commit (default: the catalog's).")] = None,
    hub: HubOption = None,
    offline: Annotated[bool, typer.Option("--offline", help="Use the local cache only (as HF_HUB_OFFLINE=1).")] = False,
    allow_pickle: Annotated[
        bool, typer.Option("--allow-pickle", help="Allow pickle weights (.bin, .pt); they load with weights_only=True.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Download weights into the cache, verifying every file's hash."""
    from zoo.hub import download

    result = download(name, revision=revision, hub=hub, offline=offline, allow_pickle=allow_pickle)
    if as_json:
        _print_json(result.to_json())
        return
    _echo(f"{result.name or result.repo_id}: {result.repo_id}@{result.revision}")
    _echo(f"path      {result.path}")
    for file in result.files:
        _echo(f"verified  {file.path}  sha256:{file.sha256}  {file.size:,} bytes")


@app.command()
def publish(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by 'zoo train'.", metavar="RUN_DIR")],
    repo_id: Annotated[str, typer.Argument(help="The repository to publish to, ORG/NAME.", metavar="REPO_ID")],
    hub: HubOption = None,
    private: Annotated[bool, typer.Option("--private", help="Create the repository as private.")] = False,
    revision: Annotated[str, typer.Option(help="The branch to commit to.")] = "main",
    create_pr: Annotated[bool, typer.Option("--create-pr", help="Open a pull request instead of committing.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Build the files and list them; upload nothing.")] = False,
    register: Annotated[
        Path | None,
        typer.Option(help="Write the pinned catalog entry into this registry.toml.", metavar="REGISTRY_TOML"),
    ] = None,
    name: Annotated[str | None, typer.Option(help="The catalog name, ARCH.TAG (default: ARCH.DATASET).")] = None,
    license: Annotated[str | None, typer.Option(help="The license for the model card, e.g. apache-2.0.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Publish a run folder to the Hub or a local hub: weights, config.json, model card and metrics, one commit."""
    from zoo.publishing import publish as publish_run

    result = publish_run(
        run_dir,
        repo_id,
        hub=hub,
        private=private,
        revision=revision,
        create_pr=create_pr,
        dry_run=dry_run,
        register=register,
        name=name,
        license=license,
    )
    if as_json:
        _print_json(result.to_json())
        return
    if dry_run:
        _echo(f"Dry run: would publish to {repo_id}@{revision}:")
    else:
        _echo(f"Published {result.entry_name} to {repo_id}@{result.revision}")
        _echo(f"commit    {result.commit_url}")
    for file in result.files:
        _echo(f"  {file.path}  sha256:{file.sha256}  {file.size:,} bytes")
    if result.registered:
        _echo(f"Registered {result.entry_name} in {result.registered}")
    _echo("\nCatalog entry:\n" + result.catalog_entry)


@app.command()
def pin(
    name: Annotated[
        str, typer.Argument(help="A catalog entry (arch.tag).", autocompletion=_complete_models, metavar="NAME")
    ],
    registry: Annotated[
        Path | None, typer.Option(help="The catalog file to write (default: the entry's own).", metavar="PATH")
    ] = None,
    hub: HubOption = None,
) -> None:
    """Resolve an entry's branch to a commit and record every file's sha256 in the catalog (needs the Hub)."""
    from zoo.hub import pin as pin_entry

    path, result = pin_entry(name, registry=registry, hub=hub)
    _echo(f"Pinned {result.name} at {result.repo_id}@{result.revision} in {path}")
    for file in result.files:
        _echo(f"  {file.path}  sha256:{file.sha256}")


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="Text the repo id must contain.", metavar="QUERY")] = None,
    task: Annotated[str | None, typer.Option(help="Only this task, e.g. image-classification.")] = None,
    author: Annotated[str | None, typer.Option(help="Only this user or organisation.", metavar="ORG")] = None,
    sort: Annotated[str, typer.Option(help="downloads, likes or updated (most first).")] = "downloads",
    limit: Annotated[int, typer.Option(help="At most this many results.", metavar="N")] = 20,
    hub: Annotated[
        str | None, typer.Option("--hub", help="A Hub URL (default: ZOO_HUB, else HF_ENDPOINT).", metavar="URL")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Find models on the Hub that were published with zoo."""
    found = zoo.search(query, task=task, author=author, sort=sort, limit=limit, hub=hub)
    if as_json:
        _print_json([f.to_json() for f in found])
        return
    if not found:
        _echo("No models published with zoo match" + (f" '{query}'" if query else "") + ".")
        return
    table = _table("Repo", "Model", "Task", "Metric", "Downloads", "Updated")
    for f in found:
        metric = f"{f.metric['name']} {f.metric['value']:.4g}" if f.metric else "-"
        _add_row(table, f.repo_id, f.model or "-", f.task or "-", metric, f"{f.downloads:,}", (f.updated or "-")[:10])
    _console().print(table)


@app.command()
def train(
    model: Annotated[
        str, typer.Argument(help="The model to train, e.g. cnn.", autocompletion=_complete_models, metavar="MODEL")
    ],
    recipe: Annotated[str | None, typer.Option(help="The training recipe (default: the model's).")] = None,
    dataset: Annotated[str | None, typer.Option(help="The dataset adapter (default: the recipe's).")] = None,
    data_dir: Annotated[str | None, typer.Option(help="Where the dataset's files are.", metavar="PATH")] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs (default: the recipe's).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Batch size per process.")] = None,
    lr: Annotated[float | None, typer.Option(help="Learning rate.")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda or mps.")] = None,
    precision: Annotated[str | None, typer.Option(help="auto, fp32, bf16 or fp16.")] = None,
    compile: Annotated[bool | None, typer.Option("--compile", help="torch.compile the model.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    checkpoint_every: Annotated[int | None, typer.Option(help="Also checkpoint every N optimizer steps.")] = None,
    nproc: Annotated[int, typer.Option(help="Processes on this machine (torchrun, DDP).")] = 1,
    nnodes: Annotated[int, typer.Option(help="Machines in the job.")] = 1,
    node_rank: Annotated[int, typer.Option(help="This machine's rank.")] = 0,
    rdzv_endpoint: Annotated[str | None, typer.Option(help="HOST:PORT of the rendezvous.")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a setting: KEY=VALUE (repeatable).", metavar="KEY=VALUE")
    ] = None,
    download: Annotated[bool, typer.Option("--download", help="Let the dataset download its files (online).")] = False,
    out: Annotated[str | None, typer.Option(help="The run folder (default: runs/RECIPE).", metavar="DIR")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its checkpoint.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    logger: Annotated[
        list[str] | None,
        typer.Option("--logger", help="A training logger, e.g. tensorboard (repeatable; default: ZOO_LOGGERS)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")] = False,
) -> None:
    """Train a model with its recipe into a run folder (weights, config.json, metrics, train.log)."""
    from zoo.engine.config import parse_sets
    from zoo.engine.run import train as train_model

    result = train_model(
        model,
        recipe=recipe,
        dataset=dataset,
        data_dir=data_dir,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        device=device,
        precision=precision,
        compile=compile,
        seed=seed,
        checkpoint_every=checkpoint_every,
        sets={**parse_sets(set_ or []), **({"download": "true"} if download else {})},
        out=out,
        resume=resume,
        quiet=quiet or as_json,
        nproc=nproc,
        nnodes=nnodes,
        node_rank=node_rank,
        rdzv_endpoint=rdzv_endpoint,
        loggers=logger,
    )
    if as_json:
        _print_json(result)
        return
    metrics = ", ".join(f"{k} {v}" for k, v in result.get("metrics", {}).items())
    _echo(
        f"Trained {result.get('model')} ({result.get('recipe')} on {result.get('dataset')}) in "
        f"{result.get('seconds')} s: {metrics}"
    )
    _echo(f"run folder  {result['run_dir']}")


@app.command("runs")
def runs_(
    args: Annotated[
        list[str] | None,
        typer.Argument(help="DIR to search (default: runs/), or: show RUN_DIR.", metavar="[DIR] | show RUN_DIR"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """List the finished runs under DIR as a table, or show one run's epochs and curves ('zoo runs show RUN_DIR')."""
    from zoo.run_index import DEFAULT_ROOT, list_runs, show_run

    args = list(args or [])
    if args[:1] == ["show"]:
        if len(args) != 2:
            raise UsageError("'zoo runs show' takes one run folder: zoo runs show RUN_DIR")
        shown = show_run(args[1])
        if as_json:
            _print_json(shown)
        else:
            _show_run(shown)
        return
    if len(args) > 1:
        raise UsageError("'zoo runs' takes one folder to search (zoo runs [DIR]), or 'show RUN_DIR'")
    root = args[0] if args else DEFAULT_ROOT
    if not args and not Path(root).is_dir():
        rows: list[dict[str, Any]] = []
    else:
        rows = list_runs(root)
    if as_json:
        _print_json(rows)
        return
    if not rows:
        _echo(f"No finished runs under {root}/. Train one with 'zoo train MODEL'.")
        return
    table = _table("Run", "Model", "Recipe", "Dataset", "Metric", "Epochs", "Wall time", "Date", "Published")
    for column in table.columns:  # nine columns: on a narrow terminal they wrap rather than lose their ends
        column.no_wrap, column.overflow = False, "fold"
    for r in rows:
        metric = f"{r['metric']['name']} {r['metric']['value']:.4g}" if r["metric"] else "-"
        seconds = f"{r['seconds']:.1f} s" if isinstance(r["seconds"], (int, float)) else "-"
        date = (r["finished"] or "-")[:16].replace("T", " ")
        _add_row(table, r["run_dir"], r["model"], r["recipe"], r["dataset"] or "-", metric, r["epochs"] or "-",
                 seconds, date, _short_revision(r["published"]) or "-")  # fmt: skip
    _console().print(table)


def _short_revision(target: str | None) -> str | None:
    """ORG/NAME@<40 hex> as ORG/NAME@<first 8>, as git shows commits."""
    if target is None or "@" not in target:
        return target
    repo, _, revision = target.rpartition("@")
    return f"{repo}@{revision[:8]}"


def _show_run(shown: dict[str, Any]) -> None:
    from zoo.curves import loss_key, series
    from zoo.textchart import bar_chart

    history, best = shown["history"], shown["best_epoch"]
    metric = shown["metric"]["name"] if shown["metric"] else None
    _echo(f"{shown['run_dir']}: {shown['model']} ({shown['recipe']} on {shown['dataset']})")
    columns = list(dict.fromkeys(k for row in history for k in row if k != "epoch"))
    table = _table("Epoch", *columns)
    for row in history:
        cells = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in (row.get(k, "") for k in columns)]
        _add_row(table, f"{row['epoch']}{' *' if row['epoch'] == best else ''}", *cells)
    _console().print(table)
    for key in dict.fromkeys([loss_key(history), *([metric] if metric else [])]):
        epochs, values = series(history, key)
        _echo("")
        for line in bar_chart(key, epochs, values, best):
            _echo(line)


@app.command()
def reproduce(
    target: Annotated[str, typer.Argument(help="A repo published with zoo: ORG/NAME[@REV].", metavar="ORG/NAME[@REV]")],
    data_dir: Annotated[str | None, typer.Option(help="Where your copy of the dataset is.", metavar="PATH")] = None,
    out: Annotated[
        str | None,
        typer.Option(help="The reproduction's run folder (default: runs/reproduce-NAME-REV8).", metavar="DIR"),
    ] = None,
    tolerance: Annotated[
        float, typer.Option(help="How far (absolute) a reproduced metric may be from the published one.")
    ] = 0.005,
    nproc: Annotated[
        int | None, typer.Option(help="Processes (default: the published run's world size).", metavar="N")
    ] = None,
    hub: HubOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Retrain a published model from its recorded recipe, settings and seed, and check its weights and metrics.

    Exit 0 when they reproduce (bitwise or within --tolerance), 1 when they differ, 2 when the data differs."""
    from zoo.reproduction import reproduce as reproduce_run

    result = reproduce_run(
        target, data_dir=data_dir, out=out, tolerance=tolerance, nproc=nproc, hub=hub, quiet=quiet or as_json
    )
    if as_json:
        _print_json(result.to_json())
    else:
        table = _table("Metric", "Published", "Reproduced", "Delta", "Stated in")
        for m in result.metrics:
            reproduced = "-" if m.reproduced is None else f"{m.reproduced:.6g}"
            delta = "-" if m.delta is None else f"{m.delta:+.6g}"
            _add_row(table, m.name, f"{m.published:.6g}", reproduced, delta, ", ".join(m.sources))
        _console().print(table)
        weights = "identical" if result.same_weights else "not identical"
        _echo(f"run folder  {result.run_dir}")
        _echo(f"weights     {weights} to {result.repo_id}@{result.revision}")
        explain = {
            "bitwise": "the same weights and every published metric",
            "within-tolerance": f"every published metric within {result.tolerance:g}",
            "differs": "the published metrics do not come out again"
            + (" (the weights do: the published metrics are wrong)" if result.same_weights else ""),
        }[result.verdict]
        _echo(f"verdict     {result.verdict}: {explain}")
    if result.verdict == "differs":
        raise SystemExit(1)


@app.command("eval")
def eval_(
    target: Annotated[
        str, typer.Argument(help="A run folder, or a model with pretrained weights.", metavar="MODEL|RUN_DIR")
    ],
    dataset: Annotated[str | None, typer.Option(help="The dataset (default: the run's).")] = None,
    data_dir: Annotated[str | None, typer.Option(help="Where the dataset's files are.", metavar="PATH")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda or mps.")] = None,
    hub: HubOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Evaluate a run folder or pretrained model on a dataset's validation split."""
    from zoo.engine.run import evaluate

    result = evaluate(target, dataset=dataset, data_dir=data_dir, device=device, hub=hub)
    if as_json:
        _print_json(result)
        return
    _echo(f"{result['model']} on {result['dataset']}: " + ", ".join(f"{k} {v}" for k, v in result["metrics"].items()))


@app.command("predict")
def predict_(
    target: Annotated[
        str, typer.Argument(help="A run folder, or a model with pretrained weights.", metavar="MODEL|RUN_DIR")
    ],
    inputs: Annotated[
        list[str] | None, typer.Argument(help="Inputs: files, or ids, as the task takes.", metavar="INPUT...")
    ] = None,
    user: Annotated[
        list[str] | None, typer.Option("--user", help="A user's raw id, for recommenders (repeatable).")
    ] = None,
    top: Annotated[int, typer.Option(help="How many classes or items to show.")] = 5,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda or mps.")] = None,
    hub: HubOption = None,
    allow_pickle: Annotated[bool, typer.Option("--allow-pickle", help="Allow pickle weights.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Predict with a run folder or pretrained model: top-k classes, a transcript, or items."""
    from zoo.engine.run import predict

    every = [*(inputs or []), *(user or [])]
    if not every:
        raise UsageError("give at least one INPUT (or --user ID for a recommender)")
    rows = predict(target, every, top=top, device=device, hub=hub, allow_pickle=allow_pickle)
    if as_json:
        _print_json(rows)
        return
    for row in rows:
        output = row["output"]
        if isinstance(output, str):
            _echo(f"{row['input']}: {output}")
            continue
        _echo(f"{row['input']}:")
        for item in output:
            name = item.get("label", item.get("item"))
            extra = f"  {item['title']}" if item.get("title") else ""
            _echo(f"  {name}  {item['score']:.4f}{extra}")


def _fail(exc: ZooError) -> None:
    message = " ".join(str(exc).split("\n")) if str(exc) else type(exc).__name__
    sys.stderr.write(f"Error: {printable(message)}\n")
    raise SystemExit(exc.exit_code)


def main() -> None:
    """Console entry point: load plugins (and their commands), run the app, turn errors into exit codes."""
    with shown_once():
        _run()


def _run() -> None:
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
            sys.stderr.write(f"Error: {printable(str(exc))}\n")
        else:
            shown = io.StringIO()
            show(file=shown)  # it repeats what the user typed: no raw control characters to the terminal
            sys.stderr.write(printable(shown.getvalue()))
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
