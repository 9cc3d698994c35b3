"""`zoo train`, `zoo reproduce`, `zoo eval` and `zoo predict`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from zoo.cli import render
from zoo.cli.options import (
    HubOption,
    JsonOption,
    check_hub,
    check_outputs,
    check_paths,
    check_target,
    complete_models,
)
from zoo.cli.render import Column
from zoo.core.errors import UsageError


def train(
    model: Annotated[
        str, typer.Argument(help="The model to train, e.g. cnn.", autocompletion=complete_models, metavar="MODEL")
    ],
    recipe: Annotated[str | None, typer.Option(help="The training recipe (default: the model's).")] = None,
    dataset: Annotated[str | None, typer.Option(help="The dataset adapter (default: the recipe's).")] = None,
    data_dir: Annotated[
        str | None,
        typer.Option(help="Where the dataset's files are: a folder, or hf://datasets/ORG/NAME[@REV].", metavar="PATH"),
    ] = None,
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
    rdzv_endpoint: Annotated[str | None, typer.Option(help="HOST:PORT on node 0 (the rendezvous).")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a setting: KEY=VALUE (repeatable).", metavar="KEY=VALUE")
    ] = None,
    download: Annotated[bool, typer.Option("--download", help="Let the dataset download its files (online).")] = False,
    out: Annotated[
        str | None, typer.Option(help="The run folder (default: runs/MODEL-DATASET).", metavar="DIR")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out from its checkpoint.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    logger: Annotated[
        list[str] | None,
        typer.Option("--logger", help="A training logger, e.g. tensorboard (repeatable; default: ZOO_LOGGERS)."),
    ] = None,
    hub: HubOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")] = False,
) -> None:
    """Train a model with its recipe into a run folder (weights, config.json, metrics, train.log).

    --data-dir also takes a Hub dataset repo of parquet files: hf://datasets/ORG/NAME[@REV] (verified and pinned).
    """
    check_paths(**{"--data-dir": data_dir})
    check_outputs(**{"--out": out})
    check_hub(hub)

    from zoo.engine.settings import parse_sets
    from zoo.jobs.train import train as train_model

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
        hub=hub,
    )
    if as_json:
        render.print_json(result)
        return
    metrics = ", ".join(f"{k} {v}" for k, v in result.get("metrics", {}).items())
    render.echo(
        f"Trained {result.get('model')} ({result.get('recipe')} on {result.get('dataset')}) in "
        f"{result.get('seconds')} s: {metrics}"
    )
    render.echo(f"run folder  {result['run_dir']}")


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
    download: Annotated[
        bool, typer.Option("--download", help="Let the dataset download its files (online); never the repo's choice.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Retrain a published model from its recorded recipe, settings and seed, and check its weights and metrics.

    Exit 0 when they reproduce (bitwise or within --tolerance), 1 when they differ, 2 when the data differs."""
    check_paths(**{"--data-dir": data_dir})
    check_outputs(**{"--out": out})
    check_hub(hub)

    from zoo.jobs.reproduce import reproduce as reproduce_run

    result = reproduce_run(
        target,
        data_dir=data_dir,
        out=out,
        tolerance=tolerance,
        nproc=nproc,
        hub=hub,
        quiet=quiet or as_json,
        download=download,
    )
    if as_json:
        render.print_json(result.to_json())
    else:
        columns = ["Metric", "Published", "Reproduced", "Delta", Column("Stated in", shorten_to=12, wrap=True)]
        render.print_table(
            columns,
            (
                (
                    m.name,
                    f"{m.published:.6g}",
                    "-" if m.reproduced is None else f"{m.reproduced:.6g}",
                    "-" if m.delta is None else f"{m.delta:+.6g}",
                    ", ".join(m.sources),
                )
                for m in result.metrics
            ),
        )
        weights = "identical" if result.same_weights else "not identical"
        render.echo(f"run folder  {result.run_dir}")
        render.echo(f"weights     {weights} to {result.repo_id}@{result.revision}")
        explain = {
            "bitwise": "the same weights and every published metric",
            "within-tolerance": f"every published metric within {result.tolerance:g}",
            "differs": "the published metrics do not come out again"
            + (" (the weights do: the published metrics are wrong)" if result.same_weights else ""),
        }[result.verdict]
        render.echo(f"verdict     {result.verdict}: {explain}")
    if result.verdict == "differs":
        raise SystemExit(1)


def eval_(
    target: Annotated[
        str, typer.Argument(help="A run folder, or a model with pretrained weights.", metavar="MODEL|RUN_DIR")
    ],
    dataset: Annotated[str | None, typer.Option(help="The dataset (default: the run's).")] = None,
    data_dir: Annotated[
        str | None,
        typer.Option(help="Where the dataset's files are: a folder, or hf://datasets/ORG/NAME[@REV].", metavar="PATH"),
    ] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda or mps.")] = None,
    hub: HubOption = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluate a run folder or pretrained model on a dataset's validation split."""
    check_target(target, "MODEL|RUN_DIR")
    check_paths(**{"--data-dir": data_dir})
    check_hub(hub)

    from zoo.jobs.inference import evaluate

    result = evaluate(target, dataset=dataset, data_dir=data_dir, device=device, hub=hub)
    if as_json:
        render.print_json(result)
        return
    render.echo(
        f"{result['model']} on {result['dataset']}: " + ", ".join(f"{k} {v}" for k, v in result["metrics"].items())
    )


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
    runtime: Annotated[
        str, typer.Option(help="torch, or onnx / pt2: the file 'zoo export' wrote to the run folder or repo.")
    ] = "torch",
    as_json: JsonOption = False,
) -> None:
    """Predict with a run folder or pretrained model: top-k classes, a transcript, or items."""
    from zoo.jobs.inference import predict

    every = [*(inputs or []), *(user or [])]
    if not every:
        raise UsageError("give at least one INPUT (or --user ID for a recommender)")
    check_target(target, "MODEL|RUN_DIR")
    check_hub(hub)
    rows = predict(target, every, top=top, device=device, hub=hub, allow_pickle=allow_pickle, runtime=runtime)
    if as_json:
        render.print_json(rows)
        return
    for row in rows:
        for line in prediction_lines(row):
            render.echo(line)


def prediction_lines(row: dict[str, Any]) -> list[str]:
    """The lines `zoo predict` prints for one input: `INPUT: text`, or `INPUT:` (and the recipe's note) then one
    `  NAME  SCORE  [TITLE]` line per class or item; an item without a score (a popular one) shows what it is."""
    output = row["output"]
    if isinstance(output, str):
        return [f"{row['input']}: {output}"]
    notes = list(dict.fromkeys(str(item["note"]) for item in output if item.get("note")))
    lines = [f"{row['input']}:" + "".join(f" {note}" for note in notes)]
    for item in output:
        name = item.get("label", item.get("item", "-"))
        extra = f"  {item['title']}" if item.get("title") else ""
        lines.append(f"  {name}  {_score(item)}{extra}")
    return lines


def _score(item: dict[str, Any]) -> str:
    score = item.get("score")
    if isinstance(score, (int, float)) and not isinstance(score, bool):
        return f"{score:.4f}"
    if score is None:
        return "popular" if item.get("popular") else "-"
    return str(score)
