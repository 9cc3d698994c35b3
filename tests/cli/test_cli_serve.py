"""`zoo serve` through the real CLI: one server for the module, on a cnn trained briefly on digits, asked over real
HTTP; its answers compared with `zoo predict --json`, its refusals of bad requests, and its start and stop."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
from zoo_fixtures import ZOO, alive_in_group, assert_clean_error, start_server, stop


def _env(root: Path, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOO_", "HF_", "MLFLOW_", "PYTHONPATH"))}
    env.update(ZOO_CACHE_DIR=str(cache), HF_HOME=str(root / "hf"), COLUMNS="200", NO_COLOR="1")
    return env


def _png(path: Path, seed: int = 0, size: int = 32) -> Path:
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture(scope="module")
def cnn(tmp_path_factory, params_cache) -> dict:
    """A cnn trained for one epoch on digits, served once for the module from an empty working folder with
    batches of up to 4 that wait 0.3 s to fill."""
    root = tmp_path_factory.mktemp("serve-cnn")
    env = _env(root, params_cache)
    run = root / "run"
    train = ["train", "cnn", "--dataset", "digits", "--epochs", "1", "--device", "cpu", "--quiet", "--out", str(run)]
    trained = subprocess.run([str(ZOO), *train], env=env, capture_output=True, text=True, timeout=300)
    assert trained.returncode == 0, trained.stderr
    cwd = root / "cwd"
    cwd.mkdir()
    args = [str(run), "--device", "cpu", "--max-batch-size", "4", "--batch-timeout", "0.3"]
    proc, url = start_server(args, cwd, env)
    image = _png(root / "digit.png")
    expected = predict_json(run, image, env)
    yield {"run": run, "url": url, "proc": proc, "cwd": cwd, "env": env, "image": image, "expected": expected}
    stop(proc)


def predict_json(run: Path, source: Path, env: dict[str, str]) -> list:
    """`zoo predict --json` for a file, named as an upload names it (from its own folder)."""
    proc = subprocess.run(
        [str(ZOO), "predict", str(run), source.name, "--json", "--device", "cpu"],
        env=env, capture_output=True, text=True, timeout=300, cwd=source.parent,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def post_file(url: str, path: Path, field: str = "file", name: str | None = None) -> httpx.Response:
    return httpx.post(f"{url}/predict", files={field: (name or path.name, path.read_bytes())}, timeout=60)


def assert_refused(response: httpx.Response, status: int | tuple[int, ...], *words: str) -> str:
    """A 4xx (or the status asked) with {"error": one line}, and nothing else."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"] and "Traceback" not in body["error"], body
    for word in words:
        assert word in body["error"], body
    return body["error"]


def assert_still_serving(cnn: dict) -> None:
    answer = post_file(cnn["url"], cnn["image"])
    assert answer.status_code == 200, answer.text
    assert answer.json() == cnn["expected"]


def test_predict_answers_as_zoo_predict_json_and_the_folder_stays_empty(cnn):
    answer = post_file(cnn["url"], cnn["image"])
    assert answer.status_code == 200, answer.text
    assert answer.json() == cnn["expected"]
    assert answer.json()[0]["input"] == "digit.png"
    info = httpx.get(f"{cnn['url']}/info").json()
    weights = hashlib.sha256((cnn["run"] / "model.safetensors").read_bytes()).hexdigest()
    assert info["files"] == [{"path": "model.safetensors", "sha256": weights}]
    assert (info["model"], info["task"]) == ("cnn", "image-classification")
    assert (info["repo_id"], info["revision"]) == (None, None)
    assert info["metrics"] == json.loads((cnn["run"] / "metrics.json").read_text())
    assert httpx.get(f"{cnn['url']}/health").json() == {"status": "ok"}
    page = httpx.get(f"{cnn['url']}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "litserve" not in page.text.lower()
    assert list(cnn["cwd"].iterdir()) == []  # no client.py, nothing else


def test_a_bad_request_batched_with_a_good_one_fails_alone(cnn, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    answers: dict[str, httpx.Response] = {}

    def send(path: Path) -> None:
        answers[path.name] = post_file(cnn["url"], path)

    threads = [threading.Thread(target=send, args=(p,)) for p in (bad, cnn["image"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers["digit.png"].status_code == 200, answers["digit.png"].text
    assert answers["digit.png"].json() == cnn["expected"]
    assert_refused(answers["broken.png"], 422, "broken.png")


def _raw(url: str, request: bytes, then_close: bool = False) -> bytes:
    """Send raw bytes; the reply's first bytes (or b'' when `then_close` hangs up at once)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        if then_close:
            return b""
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            reply += chunk
        return reply


def _bomb(path: Path) -> Path:
    """A PNG whose header states 30000 x 30000 pixels (900 MB of them), in a few dozen bytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 30001 * 8)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def test_bad_uploads_get_one_line_and_the_server_keeps_serving(cnn, tmp_path):
    url = cnn["url"]
    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    refused = assert_refused(post_file(url, text), 422, "notes.png", "not an image format Pillow reads")
    assert "_io." not in refused  # the user's file named, not Pillow's file object
    assert_still_serving(cnn)
    data = cnn["image"].read_bytes()
    truncated = tmp_path / "half.png"
    truncated.write_bytes(data[: len(data) // 2])
    assert_refused(post_file(url, truncated), 422, "half.png")
    assert_still_serving(cnn)
    bomb = _bomb(tmp_path / "bomb.png")
    assert_refused(post_file(url, bomb), 422, "bomb.png", "30000 x 30000")
    assert_still_serving(cnn)
    assert_refused(post_file(url, cnn["image"], field="image"), 400, "field 'file'", "'image'")
    assert_still_serving(cnn)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert_refused(post_file(url, empty), 422, "empty.png")
    assert_still_serving(cnn)
    sneaky = post_file(url, cnn["image"], name="../../etc/passwd")  # only the name, never a path, is used
    assert sneaky.status_code == 200 and sneaky.json()[0]["input"] == "passwd"
    assert list(cnn["cwd"].iterdir()) == []


def test_bad_bodies_routes_and_sizes_get_one_line(cnn):
    url = cnn["url"]
    assert_refused(httpx.post(f"{url}/predict", json={"user": "196"}), 415, "field 'file'")
    assert_refused(httpx.post(f"{url}/predict", content=b"{bad", headers={"content-type": "application/json"}), 415)
    assert_refused(httpx.post(f"{url}/predict"), 415)
    broken_form = b"--xyz\r\nContent-Disposition: form-data; name=file\r\n\r\nno end"
    headers = {"content-type": "multipart/form-data; boundary=xyz"}
    assert_refused(httpx.post(f"{url}/predict", content=broken_form, headers=headers), 400)
    assert_still_serving(cnn)
    assert_refused(httpx.get(f"{url}/nowhere"), 404, "POST /predict")
    assert_refused(httpx.get(f"{url}/predict"), 405, "POST /predict")
    assert_refused(httpx.delete(f"{url}/info"), 405)
    # 100 MB announced: refused by its Content-Length before the body is read (only 64 KiB of it is sent)
    head = (
        "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=xyz\r\n"
        "Content-Length: 104857600\r\n\r\n"
    )
    reply = _raw(url, head.encode() + b"x" * 65536)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["error"].startswith("the request is larger than")
    # 100 MB streamed without a length: refused once the limit is passed
    streamed = httpx.post(f"{url}/predict", content=(b"y" * (1 << 20) for _ in range(100)), headers=headers)
    assert_refused(streamed, 413, "larger than")
    assert_still_serving(cnn)


def test_clients_that_hang_up_mid_request_do_not_stop_the_others(cnn):
    url = cnn["url"]
    head = "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=xyz\r\n"
    body = cnn["image"].read_bytes()
    form = b"--xyz\r\nContent-Disposition: form-data; name=file; filename=a.png\r\n\r\n" + body + b"\r\n--xyz--\r\n"
    whole = (head + f"Content-Length: {len(form)}\r\n\r\n").encode() + form
    cuts = [
        whole[:20],  # inside the request line
        whole[: len(head)],  # inside the headers
        whole[: len(whole) // 2],  # inside the body
        whole,  # all of it, then gone before the answer
    ]
    threads = [threading.Thread(target=_raw, args=(url, cut, True)) for cut in cuts * 4]
    good: list[httpx.Response] = []
    threads += [threading.Thread(target=lambda: good.append(post_file(url, cnn["image"]))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [r.status_code for r in good] == [200] * 3
    assert all(r.json() == good[0].json() for r in good)
    assert_still_serving(cnn)


def test_a_port_in_use_is_refused_before_the_model_loads(cnn, tmp_path):
    broken = tmp_path / "broken-run"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")  # loading it first would give another error
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = subprocess.run(
            [str(ZOO), "serve", str(broken), "--port", str(port)],
            env=cnn["env"], capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    message = assert_clean_error(proc, 1, f"port {port} on 127.0.0.1 is in use", "--port")
    assert message.count("\n") == 1


@pytest.mark.parametrize(
    ("flag", "value", "words"),
    [
        ("--max-batch-size", "0", "--max-batch-size must be from 1"),
        ("--batch-timeout", "-1", "--batch-timeout must be at least 0"),
        ("--batch-timeout", "nan", "--batch-timeout must be at least 0"),
        ("--workers", "0", "--workers must be from 1"),
        ("--port", "80", "--port must be from 1024"),
        ("--host", "example.com", "--host must be one of"),
        ("--device", "tpu", "--device must be one of"),
    ],
)
def test_bad_options_are_one_line_usage_errors(cnn, flag, value, words):
    proc = subprocess.run(
        [str(ZOO), "serve", str(cnn["run"]), flag, value], env=cnn["env"], capture_output=True, text=True, timeout=120
    )
    assert_clean_error(proc, 2, words)


def test_ctrl_c_ends_every_process_it_started(cnn):
    """Last in the module: it stops the module's server (SIGINT to its process group, as Ctrl-C sends)."""
    proc = cnn["proc"]
    assert len(alive_in_group(proc.pid)) >= 3  # zoo serve, its inference worker, its HTTP process (and helpers)
    started = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=10)
    while alive_in_group(proc.pid) and time.monotonic() - started < 10:
        time.sleep(0.05)
    assert alive_in_group(proc.pid) == []
    assert time.monotonic() - started < 10
    out, err = proc.communicate()
    assert "Traceback" not in err + out, err + out
    assert proc.returncode in (0, 130)
    assert list(cnn["cwd"].iterdir()) == []
