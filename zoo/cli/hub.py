"""`zoo pull`, `zoo publish`, `zoo pin` and `zoo search`: the Hub and local hubs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import zoo
from zoo.cli import render
from zoo.cli.options import HubOption, JsonOption, check_hub, check_paths, complete_models
from zoo.cli.render import Column
from zoo.core.errors import UsageError


def pull(
    name: Annotated[
        str | None,
        typer.Argument(
            help="Weights (resnet18.tv_in1k), a model's default weights (resnet18), "
            "or a repo ORG/NAME[@REV] published with zoo or claimed by a plugin.",
            autocompletion=complete_models,
            metavar="NAME",
        ),
    ] = None,
    revision: Annotated[str | None, typer.Option(help="Branch, tag or commit (default: the catalog's).")] = None,
    hub: HubOption = None,
    offline: Annotated[bool, typer.Option("--offline", help="Use the local cache only (as HF_HUB_OFFLINE=1).")] = False,
    allow_pickle: Annotated[
        bool, typer.Option("--allow-pickle", help="Allow pickle weights (.bin, .pt); they load with weights_only=True.")
    ] = False,
    dataset: Annotated[
        str | None,
        typer.Option(help="Pull a Hub dataset repo's parquet files instead: ORG/NAME[@REV].", metavar="ORG/NAME[@REV]"),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Download weights (or, with --dataset, a dataset's parquet files) into the cache, verifying every file's hash."""
    check_hub(hub)
    if (name is None) == (dataset is None):
        raise UsageError("zoo pull takes weights NAME or --dataset ORG/NAME[@REV], one of the two")
    if dataset is not None:
        return _pull_dataset(dataset, revision, hub, offline, as_json)

    from zoo.hub.pull import download

    result = download(name, revision=revision, hub=hub, offline=offline, allow_pickle=allow_pickle)
    if as_json:
        render.print_json(result.to_json())
        return
    render.echo(f"{result.name or result.repo_id}: {result.repo_id}@{result.revision}")
    render.echo(f"path      {result.path}")
    for file in result.files:
        render.echo(f"verified  {file.path}  sha256:{file.sha256}  {file.size:,} bytes")


def _pull_dataset(dataset: str, revision: str | None, hub: str | None, offline: bool, as_json: bool) -> None:
    from zoo.hub.datasets import parse_uri, pull_dataset

    repo_id, at = parse_uri(dataset if dataset.startswith("hf://") else f"hf://datasets/{dataset}")
    result = pull_dataset(repo_id, revision or at, hub, offline)
    if as_json:
        render.print_json(result.to_json())
        return
    render.echo(f"{result.repo_id}: dataset at {result.revision}")
    render.echo(f"path      {result.path}")
    for split, files in result.split_files.items():
        render.echo(f"{split:<10}{len(files)} parquet file(s)")
    for file in result.files:
        render.echo(f"verified  {file.path}  sha256:{file.sha256}  {file.size:,} bytes")


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
    export: Annotated[
        str | None,
        typer.Option(
            help="Also export the model to these formats (onnx,pt2), each checked by the parity gate, and publish "
            "the files with their figures.",
            metavar="FORMATS",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Publish a run folder to the Hub or a local hub: weights, config.json, model card and metrics, one commit."""
    from zoo.jobs.publishing import export_formats
    from zoo.jobs.publishing import publish as publish_run

    export_formats(export)  # an unknown format: one line before anything is read
    check_paths(**{"RUN_DIR": run_dir, "--register": register})
    check_hub(hub, write=not dry_run)

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
        export=export,
    )
    if as_json:
        render.print_json(result.to_json())
        return
    if dry_run:
        render.echo(f"Dry run: would publish to {repo_id}@{revision}:")
    else:
        render.echo(f"Published {result.entry_name} to {repo_id}@{result.revision}")
        render.echo(f"commit    {result.commit_url}")
    for file in result.files:
        render.echo(f"  {file.path}  sha256:{file.sha256}  {file.size:,} bytes")
    for fmt, described in result.exports.items():
        parity = described["parity"]
        agreement = parity["agreement"]
        render.echo(
            f"parity {fmt}: max |diff| {parity['max_abs']:.3g}, relative {parity['max_rel']:.3g}; "
            f"{agreement['name']} agreement {agreement['value']:.1%} over {parity['samples']} samples"
        )
    if result.registered:
        render.echo(f"Registered {result.entry_name} in {result.registered}")
    render.echo("")
    render.echo("Catalog entry:")
    render.echo_lines(result.catalog_entry)


def pin(
    name: Annotated[
        str, typer.Argument(help="A catalog entry (arch.tag).", autocompletion=complete_models, metavar="NAME")
    ],
    registry: Annotated[
        Path | None, typer.Option(help="The catalog file to write (default: the entry's own).", metavar="PATH")
    ] = None,
    hub: HubOption = None,
) -> None:
    """Resolve an entry's branch to a commit and record every file's sha256 in the catalog (needs the Hub)."""
    check_paths(**{"--registry": registry})
    check_hub(hub)

    from zoo.hub.pin import pin as pin_entry

    path, result = pin_entry(name, registry=registry, hub=hub)
    render.echo(f"Pinned {result.name} at {result.repo_id}@{result.revision} in {path}")
    for file in result.files:
        render.echo(f"  {file.path}  sha256:{file.sha256}")


def search(
    query: Annotated[str | None, typer.Argument(help="Text the repo id must contain.", metavar="QUERY")] = None,
    task: Annotated[str | None, typer.Option(help="Only this task, e.g. image-classification.")] = None,
    author: Annotated[str | None, typer.Option(help="Only this user or organisation.", metavar="ORG")] = None,
    sort: Annotated[str, typer.Option(help="downloads, likes or updated (most first).")] = "downloads",
    limit: Annotated[int, typer.Option(help="At most this many results.", metavar="N")] = 20,
    hub: Annotated[
        str | None, typer.Option("--hub", help="A Hub URL (default: ZOO_HUB, else HF_ENDPOINT).", metavar="URL")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Find models on the Hub that were published with zoo."""
    found = zoo.search(query, task=task, author=author, sort=sort, limit=limit, hub=hub)
    if as_json:
        render.print_json([f.to_json() for f in found])
        return
    if not found:
        render.echo("No models published with zoo match" + (f" '{query}'" if query else "") + ".")
        return
    columns = [
        Column("Repo", shorten_to=16),
        Column("Model", shorten_to=10, drop=3),
        Column("Task", shorten_to=12, drop=1),
        Column("Metric"),
        Column("Downloads", drop=4),
        Column("Updated", drop=2),
    ]
    render.print_table(
        columns,
        (
            (
                f.repo_id,
                f.model or "-",
                f.task or "-",
                f"{f.metric['name']} {f.metric['value']:.4g}" if f.metric else "-",
                f"{f.downloads:,}",
                (f.updated or "-")[:10],
            )
            for f in found
        ),
    )
