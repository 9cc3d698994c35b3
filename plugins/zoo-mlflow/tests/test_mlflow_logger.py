"""`zoo train --logger mlflow` against a real MLflow SQLite tracking store, read back with MlflowClient."""

import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from zoo_fixtures import ZOO, history

TRAIN = [str(ZOO), "train", "cnn", "--dataset", "digits", "--epochs", "2", "--device", "cpu", "--quiet"]


def train(zoo_env, cwd, *args, env=None):
    proc = subprocess.run(
        [*TRAIN, *args], cwd=cwd, env={**zoo_env, **(env or {})}, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def only_run(client):
    [run] = client.search_runs([client.get_experiment_by_name("zoo").experiment_id])
    return run


def test_params_metrics_and_run_files_land_in_the_default_sqlite_store(zoo_env, tmp_path):
    proc = train(zoo_env, tmp_path, "--logger", "mlflow", "--set", "log_every=4", "--out", "run")
    assert "Creating initial MLflow database" not in proc.stderr  # MLflow's INFO chatter stays out of zoo's output
    assert (tmp_path / "mlflow.db").is_file()  # the default: SQLite in the working folder
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    run = only_run(client)
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    assert run.data.tags["model"] == "cnn" and run.data.tags["dataset"] == "digits"
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert run.data.params["settings.lr"] == str(config["settings"]["lr"])
    assert run.data.params["settings.log_every"] == "4" and run.data.params["seed"] == "0"
    rows = history(tmp_path / "run")
    for name in ("accuracy", "train_loss"):
        got = client.get_metric_history(run.info.run_id, f"epoch/{name}")
        assert sorted((m.step, m.value) for m in got) == [(r["epoch"], pytest.approx(r[name])) for r in rows]
    steps = sum(r["steps"] for r in rows)
    logged = client.get_metric_history(run.info.run_id, "train/loss")
    assert sorted(m.step for m in logged) == list(range(4, steps + 1, 4))
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"model.safetensors", "config.json", "metrics.json", "metrics.jsonl", "train.log"} <= artifacts
    assert "checkpoints" not in artifacts  # the resumable checkpoint stays local
    stored = client.download_artifacts(run.info.run_id, "metrics.json", str(tmp_path / "back"))
    assert json.loads(Path(stored).read_text()) == json.loads((tmp_path / "run" / "metrics.json").read_text())


def test_mlflow_tracking_uri_and_experiment_name_are_honoured(zoo_env, tmp_path):
    store = tmp_path / "elsewhere" / "tracking.db"
    store.parent.mkdir()
    env = {
        "MLFLOW_TRACKING_URI": f"sqlite:///{store}",
        "MLFLOW_EXPERIMENT_NAME": "digits-sweep",
        "ZOO_LOGGERS": "mlflow",
    }
    train(zoo_env, tmp_path, "--out", "run", env=env)
    assert store.is_file() and not (tmp_path / "mlflow.db").exists()
    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    [run] = client.search_runs([client.get_experiment_by_name("digits-sweep").experiment_id])
    accuracy = client.get_metric_history(run.info.run_id, "epoch/accuracy")
    assert [m.value for m in sorted(accuracy, key=lambda m: m.step)] == [
        r["accuracy"] for r in history(tmp_path / "run")
    ]


class Unavailable(BaseHTTPRequestHandler):
    """A tracking server that answers every request 503, counting them."""

    protocol_version = "HTTP/1.1"
    seen: list[str]

    def do_GET(self):
        self.seen.append(f"{self.command} {self.path}")
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args):
        pass


def test_a_tracking_server_that_does_not_answer_fails_the_logger_after_three_tries(zoo_env, tmp_path):
    """MLflow alone would try 8 times over about four minutes; training goes on without the logger."""
    seen: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (Unavailable,), {"seen": seen}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {"MLFLOW_TRACKING_URI": f"http://127.0.0.1:{server.server_address[1]}"}
        proc = train(zoo_env, tmp_path, "--logger", "mlflow", "--epochs", "1", "--out", "run", env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert len(seen) == 3 and len(set(seen)) == 1, seen  # one request, tried three times, then nothing more
    warnings = [line for line in proc.stderr.splitlines() if "logger" in line]
    assert len(warnings) == 1 and "logger 'mlflow:mlflow' failed in start" in warnings[0], proc.stderr
    assert (tmp_path / "run" / "model.safetensors").is_file()


def test_http_settings_the_user_chose_are_kept(monkeypatch):
    from zoo_mlflow.logger import HTTP_SETTINGS, MlflowLogger

    for key in HTTP_SETTINGS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "300")
    MlflowLogger()
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "300"
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == HTTP_SETTINGS["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]
