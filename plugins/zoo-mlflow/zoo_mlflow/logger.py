"""The `mlflow` logger: one MLflow run per `zoo train`, through MlflowClient (no global active run)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from zoo.plugin import TrainingLogger, UsageError

DEFAULT_DB = "mlflow.db"
EXPERIMENT = "zoo"
# Left out of the artifacts: the resumable checkpoint (large, and only useful to this machine) and the files
# torchrun's launcher keeps while a job runs.
SKIPPED = ("checkpoints", ".")
BATCH = 100  # MLflow takes at most 100 params per log_batch call
# MLflow's own defaults retry a request 7 times with a backoff that adds up to minutes, each try waiting up to 120 s:
# a tracking server that does not answer would stall training that long. Three tries within seconds, then the
# logger is dropped and training goes on. A value the user set wins.
HTTP_SETTINGS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}


def tracking_uri() -> str:
    """MLFLOW_TRACKING_URI, else a SQLite database in the working folder."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / DEFAULT_DB}"


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested settings as MLflow params: {"options": {"hidden": 8}} -> {"options.hidden": "8"}."""
    flat: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value)[:6000]
    return flat


class MlflowLogger(TrainingLogger):
    """Params at the start, `train/*` metrics by step and `epoch/*` metrics by epoch, artifacts at the end."""

    def __init__(self) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise UsageError("the mlflow logger needs mlflow-skinny: pip install zoo-mlflow") from None
        if tracking_uri().startswith("sqlite:"):
            try:
                import alembic  # noqa: F401 - the SQLite store migrates its schema with alembic
                import sqlalchemy  # noqa: F401
            except ImportError:
                raise UsageError(
                    "the mlflow logger's SQLite store needs sqlalchemy and alembic: pip install sqlalchemy alembic"
                ) from None
        for key, value in HTTP_SETTINGS.items():  # MLflow reads them at each request
            os.environ.setdefault(key, value)
        self._client_class = MlflowClient
        self._client: Any = None
        self._run_id: str | None = None

    def start(self, run_dir: Path, config: dict[str, Any]) -> None:
        from mlflow.entities import Param

        for name in ("mlflow", "alembic"):  # MLflow narrates creating and migrating its database at INFO
            logging.getLogger(name).setLevel(logging.WARNING)
        self._client = self._client_class(tracking_uri=tracking_uri())
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or EXPERIMENT
        experiment = self._client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else self._client.create_experiment(name)
        tags = {key: str(config[key]) for key in ("model", "recipe", "dataset", "plugin") if key in config}
        run = self._client.create_run(
            experiment_id, run_name=Path(run_dir).name, tags={**tags, "zoo.run_dir": str(run_dir)}
        )
        self._run_id = run.info.run_id
        params = [Param(k, v) for k, v in flatten(config).items()]
        for i in range(0, len(params), BATCH):
            self._client.log_batch(self._run_id, params=params[i : i + BATCH])

    def _metrics(self, prefix: str, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self._client.log_batch(
            self._run_id, metrics=[Metric(f"{prefix}/{k}", float(v), now, step) for k, v in values.items()]
        )

    def log_step(self, step: int, scalars: dict[str, float]) -> None:
        self._metrics("train", scalars, step)

    def log_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        self._metrics("epoch", metrics, epoch)

    def finish(self, run_dir: Path, status: str) -> None:
        if self._run_id is None:
            return
        run_dir = Path(run_dir)
        if status == "finished":
            for path in sorted(run_dir.rglob("*")):
                relative = path.relative_to(run_dir)
                if path.is_file() and not relative.parts[0].startswith(SKIPPED):
                    parent = relative.parent.as_posix()
                    self._client.log_artifact(self._run_id, str(path), None if parent == "." else parent)
        self._client.set_terminated(
            self._run_id, {"finished": "FINISHED", "interrupted": "KILLED"}.get(status, "FAILED")
        )
