"""zoo.jobs.serve from Python: the worker's batch isolation, the options and the body limit, and a server for a
recommender and one for speech (started through the Python API), whose answers must be `zoo predict --json`'s."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from zoo_fixtures import ZOO, free_port

from zoo.core.errors import UsageError, ZooError
from zoo.jobs.serve import ServeOptions, check_port
from zoo.jobs.serve_api import Refused, ZooAPI
from zoo.jobs.serve_http import upload_name

SERVE = """
import sys
from zoo.jobs.serve import ServeOptions, serve

if __name__ == "__main__":  # LitServe spawns its workers: the main module must not start a server when imported
    def ready(info, url):
        print("zoo serve:", info["model"], "on", url, file=sys.stderr, flush=True)

    options = ServeOptions(port=int(sys.argv[2]), device="cpu", max_batch_size=4, batch_timeout=0.05)
    serve(sys.argv[1], options, on_ready=ready)
"""


def _env(root: Path, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOO_", "HF_", "MLFLOW_", "PYTHONPATH"))}
    env.update(ZOO_CACHE_DIR=str(cache), HF_HOME=str(root / "hf"), COLUMNS="200", NO_COLOR="1")
    return env


def _zoo(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(ZOO), *args], env=env, capture_output=True, text=True, timeout=600, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc


def _serve(target: Path, root: Path, env: dict[str, str]):
    """serve(target) through the Python API, in its own process group; (process, url) once /health answers."""
    script = root / "serve_it.py"
    script.write_text(SERVE)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(script), str(target), str(port)],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    line = proc.stderr.readline()
    url = f"http://127.0.0.1:{port}"
    assert line.startswith("zoo serve:") and url in line, (line, proc.poll())
    deadline = time.monotonic() + 120
    while not _healthy(url):
        assert time.monotonic() < deadline and proc.poll() is None, "never healthy"
        time.sleep(0.1)
    return proc, url


def _healthy(url: str) -> bool:
    """Whether /health says ready; the port may open a moment after the line that names it."""
    try:
        return httpx.get(f"{url}/health", timeout=10).status_code == 200
    except httpx.ConnectError:
        return False


def _stop(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err, err


def _refused(response: httpx.Response, status: int | tuple[int, ...], *words: str) -> None:
    assert response.status_code in (status if isinstance(status, tuple) else (status,)), response.text
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"], body
    assert all(word in body["error"] for word in words), body


# The worker, in this process ------------------------------------------------------------------------------


@pytest.fixture
def worker(make_run, tmp_path):
    """A ZooAPI set up as a worker process would be, on a cnn run with random weights, with batches of 4."""
    run, _ = make_run("cnn", dataset="cifar10")
    api = ZooAPI(str(run), None, 3, str(tmp_path / "errors.txt"), max_batch_size=4, batch_timeout=0.1)
    before = signal.getsignal(signal.SIGINT)
    try:
        api.setup("cpu")
    finally:
        signal.signal(signal.SIGINT, before)  # setup ignores Ctrl-C, as a worker must; pytest must not
    return api


def _png_bytes(seed: int) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_bad_sample_is_refused_alone_and_the_batch_runs_without_it(worker):
    good = [worker.decode_request({"file": f"{i}.png", "data": _png_bytes(i)}) for i in range(2)]
    bad = worker.decode_request({"file": "bad.png", "data": b"GIF89a not really"})
    assert isinstance(bad, Refused) and bad.status == 422 and "bad.png" in bad.error and "zoo-serve-" not in bad.error
    outputs = worker.unbatch(worker.predict(worker.batch([good[0], bad, good[1]])))
    alone = worker.predict(worker.batch(good))
    assert outputs[1] is bad and [outputs[0], outputs[2]] == alone
    assert worker.encode_response(bad) == {"status": 422, "error": bad.error}
    assert worker.encode_response(alone[0]) == {"status": 200, "output": alone[0]}
    assert len(alone[0]) == 3


def test_a_model_that_fails_answers_each_request_with_one_line(worker):
    sample = worker.decode_request({"file": "a.png", "data": _png_bytes(0)})

    def broken(*_args, **_kwargs):
        raise RuntimeError("shapes do not match\nsecond line")

    worker.recipe.predict_batch = broken
    refused = worker.predict([sample, Refused(422, "bad")])
    assert refused[1] == Refused(422, "bad")
    assert refused[0].status == 500 and refused[0].error.endswith("RuntimeError: shapes do not match second line")


def test_a_worker_that_cannot_load_the_model_says_why_in_one_line(make_run, tmp_path):
    run, _ = make_run("cnn", dataset="cifar10")
    (run / "model.safetensors").write_bytes(b"damaged")
    errors = tmp_path / "errors.txt"
    api = ZooAPI(str(run), None, 3, str(errors), max_batch_size=1, batch_timeout=0)
    before = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(ZooError):
            api.setup("cpu")
    finally:
        signal.signal(signal.SIGINT, before)
    line = errors.read_text()
    assert "model.safetensors" in line and "\n" not in line


def test_options_are_checked_and_a_held_port_is_refused():
    with pytest.raises(UsageError, match="--max-batch-size must be from 1 to 1024, got 0"):
        ServeOptions(max_batch_size=0).check()
    with pytest.raises(UsageError, match="--batch-timeout"):
        ServeOptions(batch_timeout=float("inf")).check()
    assert ServeOptions(host="localhost", port=1024, workers=64, max_batch_size=1024).check()
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        with pytest.raises(ZooError, match=f"port {holder.getsockname()[1]} on 127.0.0.1 is in use"):
            check_port("127.0.0.1", holder.getsockname()[1])


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("photo.jpg", "photo.jpg"), ("../../etc/passwd", "passwd"), ("C:\\x\\y.png", "y.png"), ("", "upload"),
     (None, "upload"), ("..", "upload"), ("a" * 300, "upload")],
)  # fmt: skip
def test_an_upload_keeps_only_its_own_name(sent, kept):
    assert upload_name(sent) == kept


# Servers for the other tasks ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recsys(tmp_path_factory, params_cache):
    """mf trained one epoch on MovieLens-100K, served from Python."""
    root = tmp_path_factory.mktemp("serve-mf")
    env = _env(root, params_cache)
    run = root / "run"
    _zoo(env, "train", "mf", "--epochs", "1", "--set", "dim=4", "--device", "cpu", "--quiet", "--out", str(run))
    proc, url = _serve(run, root, env)
    yield {"run": run, "url": url, "env": env}
    _stop(proc)


def test_a_recommender_answers_users_as_zoo_predict_does(recsys):
    url = recsys["url"]
    answer = httpx.post(f"{url}/predict", json={"user": "196"}, timeout=60)
    assert answer.status_code == 200, answer.text
    expected = json.loads(_zoo(recsys["env"], "predict", str(recsys["run"]), "--user", "196", "--json").stdout)
    assert answer.json() == expected
    assert httpx.post(f"{url}/predict", json={"user": 196}, timeout=60).json() == expected
    _refused(httpx.post(f"{url}/predict", json={"user": "no-such-user"}), (404, 422), "unknown user id")
    _refused(httpx.post(f"{url}/predict", json={"name": "196"}), 422, "field 'user' is missing")
    _refused(httpx.post(f"{url}/predict", json={"user": ["196"]}), 422, "field 'user'")
    _refused(httpx.post(f"{url}/predict", content=b'{"user": ', headers={"content-type": "application/json"}), 400)
    _refused(httpx.post(f"{url}/predict", files={"file": ("u.txt", b"196")}), 415, '{"user": "196"}')
    assert httpx.post(f"{url}/predict", json={"user": "196"}, timeout=60).json() == expected
    info = httpx.get(f"{url}/info").json()
    assert info["task"] == "recommendation" and info["model"] == "mf"
    read = [recsys["run"] / "model.safetensors", *sorted(p for p in (recsys["run"] / "data").rglob("*") if p.is_file())]
    assert len(read) > 1  # the weights and the id index the server answers from, each with its digest
    assert info["files"] == [
        {"path": p.relative_to(recsys["run"]).as_posix(), "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
        for p in read
    ]


@pytest.fixture(scope="module")
def speech(tmp_path_factory, params_cache):
    """wav2vec2_tiny trained one epoch from scratch on zoo_wav2vec's sample speech, served from Python."""
    from zoo_wav2vec.samples import speech_manifest

    root = tmp_path_factory.mktemp("serve-speech")
    env = _env(root, params_cache)
    sample = speech_manifest(root / "speech")
    run = root / "run"
    _zoo(env, "train", "wav2vec2_tiny", "--dataset", "speech-manifest", "--data-dir", str(sample.data_dir),
         "--epochs", "1", "--batch-size", "4", "--set", "pretrained=false", "--device", "cpu", "--quiet",
         "--out", str(run))  # fmt: skip
    proc, url = _serve(run, root, env)
    yield {"run": run, "url": url, "env": env, "input": Path(sample.inputs[0])}
    _stop(proc)


def test_speech_answers_as_zoo_predict_does(speech, tmp_path):
    import numpy as np
    import soundfile

    url, wav = speech["url"], speech["input"]
    answer = httpx.post(f"{url}/predict", files={"file": (wav.name, wav.read_bytes())}, timeout=60)
    assert answer.status_code == 200, answer.text
    predicted = _zoo(
        speech["env"], "predict", str(speech["run"]), wav.name, "--json", "--device", "cpu", cwd=wav.parent
    )
    assert answer.json() == json.loads(predicted.stdout)
    short = tmp_path / "click.wav"
    soundfile.write(short, np.zeros(160, dtype=np.float32), 16000)  # 10 ms
    _refused(httpx.post(f"{url}/predict", files={"file": ("click.wav", short.read_bytes())}), 422, "too short")
    _refused(httpx.post(f"{url}/predict", files={"file": ("noise.wav", b"RIFF....WAVEfmt ")}), 422, "noise.wav")
    again = httpx.post(f"{url}/predict", files={"file": (wav.name, wav.read_bytes())}, timeout=60)
    assert again.json() == answer.json()
