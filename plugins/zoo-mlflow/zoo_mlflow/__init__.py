"""zoo's MLflow plugin: `zoo train --logger mlflow` logs to MLFLOW_TRACKING_URI (default: ./mlflow.db, SQLite)."""

from zoo.plugin import LoggerSpec, hookimpl


@hookimpl
def register_loggers(register):
    register(
        LoggerSpec(
            name="mlflow",
            factory="zoo_mlflow.logger:MlflowLogger",
            description="params, metrics and the run folder's files to MLFLOW_TRACKING_URI (default ./mlflow.db)",
        )
    )
