"""Run folders: the one module that writes and reads them (as hub_mixin's save_pretrained/from_pretrained do).

Training, `zoo eval`/`zoo predict`, publish and the pull path all read and write runs through this module; the
file names are zoo.store.layout's.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from zoo.core import atomic
from zoo.core.errors import UsageError, ZooError
from zoo.core.limits import Limit
from zoo.core.paths import check_repo_path
from zoo.core.schema import ANY, Fields, Flag, ListOf, MapOf, Maybe, Number, OneOf, Rule, Text, validate
from zoo.plugin.config import CHOICES, ENGINE_FIELDS, ENGINE_LIMITS, TrainConfig
from zoo.store.layout import (
    CHECKPOINT,
    CONFIG,
    DATA,
    ERROR_PREFIX,
    EXPORTS,
    HISTORY,
    JOB,
    LOG,
    METRICS,
    PUBLISHED,
    RESULT,
    RUN_FILES,
    WEIGHTS,
    error_files,
)


@dataclass(frozen=True)
class Run:
    folder: Path
    config: dict[str, Any]
    metrics: dict[str, float]
    #: the epoch the weights come from (the best one with best_metric, else the last)
    epoch: int | None = None
    #: metrics.jsonl: one row per epoch
    history: list[dict[str, Any]] = field(default_factory=list)
    #: published.json: the repos the run was published to, oldest first
    published: list[dict[str, Any]] = field(default_factory=list)

    @property
    def weights(self) -> Path:
        return self.folder / WEIGHTS


class NotZooRun(UsageError):
    """A config.json that zoo did not write (another library's, or the user's): the folder is not a zoo run."""


#: looks a recipe up by the name a config.json records (the registry's `recipes.get`); raises ZooError if unknown
RecipeLookup = Callable[[str], Any]


def is_metric(value: Any) -> bool:
    """A value metrics.json may hold: a finite int or float, not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_zoo_config(config: Any) -> bool:
    """A config.json zoo wrote: it names zoo's version and the model."""
    return isinstance(config, dict) and "zoo_version" in config and isinstance(config.get("model"), str)


# Documents: each is read whole from a regular file and checked against its one schema where it is read. -----------

#: a JSON integer with more digits is read as a float (inf past 1.8e308, which Number refuses): no value zoo reads
#: is an integer too large for a float
_INT_DIGITS = 300
_SCALAR = Maybe(OneOf((Number(), Text(), Flag())))
_DEVICE_KINDS = tuple(kind for kind in CHOICES["device"] if kind != "auto")


def _limit_rule(limit: Limit, integer: bool = False) -> Rule:
    """A setting's range (an interval, or a tuple of choices: zoo.core.limits) as a schema rule."""
    return Text(choices=tuple(limit)) if isinstance(limit, tuple) else Number(limit, integer=integer)


def _setting_rule(name: str, kind: Any) -> Rule:
    """An engine setting's rule: its choices or range as zoo.plugin.config owns them, else its type."""
    if name in CHOICES:
        return Text(choices=CHOICES[name])
    if name in ENGINE_LIMITS:
        return _limit_rule(ENGINE_LIMITS[name], integer=kind is int)
    return Flag() if kind is bool else Text(max_length=256)


def _settings_rule() -> Rule:
    kinds = get_type_hints(TrainConfig)
    rules = {name: _setting_rule(name, kinds[name]) for name in ENGINE_FIELDS}
    return Fields({**rules, "options": MapOf(_SCALAR)})


#: config.json of a run (and of a repo 'zoo publish' made): zoo's own fields; a dataset's fields (labels, ...) are
#: its plugin's to check
CONFIG_SCHEMA = Fields(
    {
        "zoo_version": Text(max_length=64),
        "torch_version": Maybe(Text(max_length=64)),
        "plugin": Maybe(Text(max_length=256)),
        "plugin_version": Maybe(Text(max_length=64)),
        "model": Text(max_length=256),
        "model_args": MapOf(ANY),
        "task": Maybe(Text(max_length=256)),
        "recipe": Maybe(Text(max_length=256)),
        "recipe_overrides": MapOf(_SCALAR),
        "dataset": Maybe(
            OneOf(
                (
                    Text(max_length=256),
                    Fields({"name": Text(max_length=256), "fingerprint": Maybe(Text(max_length=256))}, ("name",)),
                )
            )
        ),
        "seed": _limit_rule(ENGINE_LIMITS["seed"], integer=True),
        "settings": _settings_rule(),
        "distributed": Fields(
            {"world_size": Number("[1, inf)", integer=True), "weights_sha256": Maybe(Text(max_length=64))}
        ),
        "device_kind": Maybe(Text(choices=_DEVICE_KINDS)),
        "seconds": Maybe(Number("[0, inf)")),
        "finished": Maybe(Text(max_length=64)),
        # a published repo's config.json: the run's final metrics and the zoo that published it
        "metrics": MapOf(Number()),
        "published_with": Text(max_length=64),
        # `zoo publish --export`: each exported file, its sha256 and the parity gate's figures
        "exports": MapOf(
            Fields(
                {
                    "path": Text(choices=tuple(EXPORTS.values())),
                    "sha256": Text(max_length=64),
                    "size": Number("[0, inf)", integer=True),
                    "parity": MapOf(ANY),
                },
                required=("path", "sha256"),
            ),
            key=Text(choices=tuple(EXPORTS)),
        ),
        # trained on a Hub dataset repo: the repo, the commit, and each data file's sha256 (zoo reproduce pulls them)
        "hub_dataset": Fields(
            {
                "repo_id": Text(max_length=256),
                "revision": Text(max_length=40),
                "files": MapOf(Text(max_length=64)),
            },
            required=("repo_id", "revision"),
        ),
    },
    required=("zoo_version", "model"),
)
_EPOCH = _limit_rule(ENGINE_LIMITS["epochs"], integer=True)
#: metrics.json: metric names to finite numbers, and the epoch the weights come from
METRICS_SCHEMA = (MapOf(Number()), Fields({"epoch": _EPOCH}))
#: one line of metrics.jsonl: an epoch's metrics, train_loss, train_seconds and steps (null: a diverged epoch's NaN)
HISTORY_ROW_SCHEMA = (
    MapOf(Maybe(Number())),
    Fields({"epoch": _EPOCH, "steps": Maybe(Number("[0, inf)", integer=True))}, required=("epoch",)),
)
#: published.json: where `zoo publish` sent the run, oldest first
PUBLISHED_SCHEMA = ListOf(
    Fields(
        {
            "repo_id": Text(max_length=256),
            "revision": Maybe(Text(max_length=256)),
            "hub": Maybe(Text()),
            "date": Maybe(Text(max_length=64)),
        },
        required=("repo_id",),
    ),
    max_length=100_000,
)


def _options_schema(recipe: Any) -> Rule:
    """config.json's settings.options as the run's recipe declares them: each option's range where the recipe
    gives one (RecipeSpec.limits), else the type of its default."""
    defaults = {k: v for k, v in recipe.defaults("cpu").items() if k not in ENGINE_FIELDS}
    rules: dict[str, Rule] = {}
    for name, default in defaults.items():
        integer = isinstance(default, int) and not isinstance(default, bool)
        if name in recipe.limits:
            rules[name] = _limit_rule(recipe.limits[name], integer)
        elif isinstance(default, bool):
            rules[name] = Flag()
        elif isinstance(default, (int, float)):
            rules[name] = Number(integer=integer)
        elif isinstance(default, str):
            rules[name] = Text()
    return Fields({"settings": Fields({"options": Fields({k: Maybe(r) for k, r in rules.items()})})})


def _recipe(config: Any, recipes: RecipeLookup | None) -> Any:
    """The recipe a config.json names, when `recipes` knows it; else None (its options are checked by type)."""
    name = config.get("recipe") if isinstance(config, dict) else None
    if recipes is None or not isinstance(name, str) or not name or len(name) > 256:
        return None
    try:
        return recipes(name)
    except ZooError:
        return None


def check_run_config(config: Any, where: str, recipes: RecipeLookup | None = None) -> dict[str, Any]:
    """A zoo run's config.json checked against CONFIG_SCHEMA, and its options against its recipe's declared
    ranges when `recipes` finds the recipe; NotZooRun for a config zoo did not write, DocumentError naming the
    field for a damaged one."""
    if not is_zoo_config(config):
        raise NotZooRun(f"{where} is not a zoo run config: it needs 'zoo_version' and 'model'.")
    validate(config, CONFIG_SCHEMA, where, _RESTORE)
    recipe = _recipe(config, recipes)
    if recipe is not None:
        validate(config, _options_schema(recipe), where, _RESTORE)
    return config


_RESTORE = "Restore the file 'zoo train' wrote, or remove the run folder"


def _read_bytes(path: Path) -> bytes:
    """A regular file's bytes. A FIFO, socket or device is never read (it could block or never end): OSError."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return fh.read()


def _parse_int(text: str) -> int | float:
    return int(text) if len(text) <= _INT_DIGITS else float(text)


def _loads(text: str | bytes, **options: Any) -> Any:
    return json.loads(text, parse_int=_parse_int, **options)


def read_json(path: Path, what: str) -> Any:
    """A JSON file's content; one that is not a regular file, unreadable, not UTF-8, not JSON or nested too deeply
    is a UsageError."""
    try:
        return _loads(_read_bytes(path).decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        reason = "nested too deeply" if isinstance(exc, RecursionError) else " ".join(str(exc).split())[:120]
        raise UsageError(f"{path} is not valid JSON ({reason}); {what}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}; {what}") from None


def _validate_all(document: Any, rules: tuple[Rule, ...], where: str) -> Any:
    """`document` checked against each of its schema's rules (a mapping of numbers that also has named fields)."""
    for rule in rules:
        validate(document, rule, where, _RESTORE)
    return document


def read_config(folder: str | os.PathLike[str], recipes: RecipeLookup | None = None) -> dict[str, Any]:
    """A run folder's config.json, checked as evaluation and prediction need it (zoo's, with a model and recipe)."""
    folder = Path(folder)
    _require(folder, (CONFIG, WEIGHTS), f"{folder} is not a run folder: it needs {CONFIG} and {WEIGHTS}")
    config = check_run_config(
        read_json(folder / CONFIG, "it should be the config.json 'zoo train' writes"), str(folder / CONFIG), recipes
    )
    if not config.get("recipe"):
        raise UsageError(f"{folder / CONFIG} names no recipe, so zoo cannot tell how to evaluate or predict")
    return config


def _require(folder: Path, names: tuple[str, ...], missing: str) -> None:
    """Refuse a run folder lacking one of `names` (UsageError `missing`), or holding one that is not a regular file
    (a FIFO could block a reader forever)."""
    for name in names:
        if not (folder / name).exists():
            raise UsageError(missing)
        if not (folder / name).is_file():
            raise UsageError(f"{folder / name} is not a regular file: 'zoo train' writes it as one")


def read_config_json(folder: Path) -> Any:
    """A folder's config.json as parsed JSON, or None when it has none, it is not a regular file or it does not
    parse: a pulled repository of another library (which the plugin that claims it reads), or an --out folder
    that is not a run."""
    try:
        return _loads(_read_bytes(folder / CONFIG).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def read_run(folder: str | os.PathLike[str], recipes: RecipeLookup | None = None) -> Run:
    """Load and check a run folder (config.json, metrics.json, metrics.jsonl, published.json, the weights' header);
    a missing or damaged part is a UsageError saying which file and field."""
    from zoo.store.weights import check_safetensors

    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a run folder (no such directory). Train one with 'zoo train'.")
    missing = [name for name in (WEIGHTS, CONFIG, METRICS) if not (folder / name).exists()]
    lacks = (
        f"the run folder {folder} lacks {', '.join(missing)}: publish needs the weights, "
        "config.json and metrics.json that 'zoo train' writes."
    )
    _require(folder, (CONFIG,), lacks)
    config = check_run_config(  # first: a config.json zoo did not write makes the folder no run (NotZooRun)
        read_json(folder / CONFIG, "it should be the config.json 'zoo train' writes"), str(folder / CONFIG), recipes
    )
    _require(folder, (WEIGHTS, METRICS), lacks)
    metrics = _validate_all(
        read_json(folder / METRICS, "it should map metric names to numbers"), METRICS_SCHEMA, str(folder / METRICS)
    )
    history, published = read_history(folder), read_published(folder)
    check_safetensors(folder / WEIGHTS)
    # metrics.json also records which epoch they come from; that is not a metric to publish.
    return Run(
        folder=folder,
        config=config,
        metrics={k: v for k, v in metrics.items() if k != "epoch"},
        epoch=metrics.get("epoch"),
        history=history,
        published=published,
    )


def read_history(folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """metrics.jsonl: one row per epoch (its metrics, train_loss, train_seconds, steps); [] when absent. NaN or
    Infinity, which a diverged epoch records, read as null."""
    path = Path(folder) / HISTORY
    try:
        text = _read_bytes(path).decode("utf-8")
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    rows = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = _loads(line, parse_constant=lambda _: None)
        except (ValueError, RecursionError):
            raise UsageError(f"{where} is not a metrics row 'zoo train' writes (a JSON object with an epoch)") from None
        rows.append(_validate_all(row, HISTORY_ROW_SCHEMA, where))
    return rows


def record_published(folder: Path, repo_id: str, revision: str, hub: str | None) -> None:
    """Remember in the run folder that it was published (`zoo runs` shows the latest); `hub`: a local hub folder or
    endpoint, None for the default Hub."""
    from datetime import UTC, datetime

    entries = read_published(folder)
    entries.append(
        {"repo_id": repo_id, "revision": revision, "hub": hub, "date": datetime.now(UTC).isoformat(timespec="seconds")}
    )
    write_json(folder / PUBLISHED, entries)


def read_published(folder: Path) -> list[dict[str, Any]]:
    """The repos a run was published to (published.json), oldest first; [] when it has none."""
    path = folder / PUBLISHED
    if not path.exists() and not path.is_symlink():
        return []
    entries = read_json(path, "it is where 'zoo publish' notes the repos it published the run to")
    return validate(entries, PUBLISHED_SCHEMA, str(path), "Remove the file or restore the one 'zoo publish' wrote")


#: zoo's files, whose non-regular impostors (a FIFO, a folder) an --out folder may not hold
_FILES = (WEIGHTS, CONFIG, METRICS, HISTORY, LOG, PUBLISHED)


def check_out_folder(folder: Path, recipes: RecipeLookup | None = None) -> None:
    """Refuse an --out that is a file, or a folder holding anything but a zoo run (training would overwrite it).

    A zoo run shows by its config.json, checkpoint or train.log; without one, the names zoo writes (logs/,
    tensorboard/, data/, ...) are the user's own. A zoo config.json is checked as every reader checks it.
    """
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {folder} is a file: name a new folder, or the folder of a zoo run to --resume")
    if not folder.is_dir():
        return
    names = {p.name for p in folder.iterdir() if not p.name.startswith((atomic.PREFIX, ERROR_PREFIX))}
    for name in sorted(names & set(_FILES)):
        if not (folder / name).is_file():
            raise UsageError(f"--out {folder} holds {name} that is not a regular file: name a new or empty folder.")
    foreign = names - RUN_FILES
    config = read_config_json(folder) if CONFIG in names else None
    if CONFIG in names and not is_zoo_config(config):
        foreign.add(CONFIG)
    elif config is not None:
        check_run_config(config, str(folder / CONFIG), recipes)
    if config is None and not (folder / CHECKPOINT).is_file() and LOG not in names:
        foreign |= names - {JOB, RESULT}  # results, loggers' or data folders without a zoo run are the user's
    if foreign:
        shown = ", ".join(sorted(foreign)[:3]) + (" ..." if len(foreign) > 3 else "")
        raise UsageError(
            f"--out {folder} is not empty and is not a zoo run folder (it holds {shown}): training would "
            "overwrite it. Name a new or empty folder."
        )


def discard_unfinished(folder: Path, existed: bool) -> None:
    """After a run failed before writing anything: remove the launcher's files, and the folder if zoo made it."""
    for name in (JOB, RESULT):
        (folder / name).unlink(missing_ok=True)
    for error in error_files(folder):
        error.unlink(missing_ok=True)
    log = folder / LOG
    if log.is_file() and log.stat().st_size == 0:
        log.unlink()
    if not existed and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def write_json(path: Path, data: Any) -> Path:
    """Write JSON atomically (temporary file, then rename)."""
    return atomic.write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def check_fresh(folder: Path, resume: bool) -> None:
    """Refuse to resume where there is no checkpoint, and to start a run over one that exists."""
    checkpoint = folder / CHECKPOINT
    if resume and not checkpoint.is_file():
        raise UsageError(f"nothing to resume: {checkpoint} does not exist. Drop --resume to start a new run.")
    if not resume and (checkpoint.is_file() or (folder / WEIGHTS).is_file()):
        raise UsageError(f"{folder} already holds a run: pass --resume to continue it, or another --out.")


def write_run(
    folder: Path,
    model: Any,
    config: dict[str, Any],
    metrics: dict[str, float],
    history: list[dict[str, Any]],
    files: Mapping[str, Callable[[Path], Any]] | None = None,
) -> None:
    """The finished run: the side files, weights, config.json, the final metrics and one line of metrics per
    epoch, each atomic. `files` maps a name in data/ to a function that writes that file to the path it is given."""
    from zoo.store.weights import save

    for name, write in (files or {}).items():
        with atomic.replacing(folder / DATA / check_repo_path(name)) as tmp:
            write(tmp)
    save(model, folder / WEIGHTS)
    write_json(folder / CONFIG, config)
    write_json(folder / METRICS, metrics)
    atomic.write_text(folder / HISTORY, "".join(json.dumps(row) + "\n" for row in history))


def side_files(folder: Path) -> dict[str, Path]:
    """The run's side files, by their path in the run folder (data/NAME), as publish carries them."""
    data = folder / DATA
    if not data.is_dir():
        return {}
    return {
        f"{DATA}/{p.relative_to(data).as_posix()}": p
        for p in sorted(data.rglob("*"))
        if p.is_file() and not p.name.startswith(atomic.PREFIX)
    }


def read_weights(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """A run folder's state dict (from its safetensors file)."""
    from zoo.store.weights import read_state_dict

    return read_state_dict(Path(folder) / WEIGHTS)


def run_config(
    model: str, model_args: dict[str, Any], *, plugin: str, plugin_version: str | None, task: str, **fields: Any
) -> dict[str, Any]:
    """The config.json of a run: zoo's and torch's versions, the model and how it was trained."""
    import torch

    from zoo._version import __version__

    return {
        "zoo_version": __version__,
        "torch_version": torch.__version__.split("+")[0],
        "plugin": plugin,
        "plugin_version": plugin_version,
        "model": model,
        "model_args": model_args,
        "task": task,
        **fields,
    }
