"""Every file name of a run folder and of a published repository: the one place they are written down.

A run folder holds model.safetensors, config.json, metrics.json and metrics.jsonl (written when training ends), the
dataset's side files in data/ (id maps and the like, too large for config.json), train.log, checkpoints/last.pt,
the loggers' folders, and the launcher's files while a distributed job runs. A published repository holds the
weights, config.json, metrics.json, the data/ side files, the model card and the training curves.
"""

from __future__ import annotations

from pathlib import Path

WEIGHTS, CONFIG, METRICS, HISTORY = "model.safetensors", "config.json", "metrics.json", "metrics.jsonl"
LOG = "train.log"
#: where `zoo publish` records the repos a run went to; the tensorboard logger's event files; other loggers' files
PUBLISHED, TENSORBOARD, LOGS = "published.json", "tensorboard", "logs"
#: the folder of side files a dataset adapter asks the run to keep (`Data.files`); published and pulled with it
DATA = "data"
CHECKPOINT = Path("checkpoints") / "last.pt"
# The launcher's files while torchrun runs a job: the job, rank 0's result, each failing rank's error.
JOB, RESULT, ERROR_PREFIX = ".job.json", ".result.json", ".error-rank"
#: `zoo export`'s files in a run folder, and in a repository `zoo publish --export` made (pinned like the weights)
EXPORTS = {"onnx": "model.onnx", "pt2": "model.pt2"}
# What `zoo train` writes into a run folder; anything else there belongs to the user.
RUN_FILES = frozenset(
    {
        WEIGHTS,
        CONFIG,
        METRICS,
        HISTORY,
        LOG,
        DATA,
        CHECKPOINT.parts[0],
        JOB,
        RESULT,
        PUBLISHED,
        TENSORBOARD,
        LOGS,
        *EXPORTS.values(),
    }
)
#: what a published repository holds besides the run's weights, config, metrics and data/: the model card and the
#: training curves (documentation: a catalog entry does not pin them)
CARD, CURVES = "README.md", "training_curves.png"


def error_file(folder: Path, rank: int) -> Path:
    """Where rank `rank` of a distributed job records its failure for the launcher."""
    return folder / f"{ERROR_PREFIX}{rank}.json"


def error_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{ERROR_PREFIX}*.json")) if folder.is_dir() else []
