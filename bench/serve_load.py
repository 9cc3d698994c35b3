"""`zoo serve` under load: dynamic batching against the same server at --max-batch-size 1, side by side.

For resnet18 (ImageNet preprocessing: 224 x 224 crops of 320 x 240 photos) and cnn (32 x 32), one run folder each
with real random weights, the same `zoo serve` is started twice on a loopback port: with dynamic batching
(--max-batch-size 16) and with --max-batch-size 1. Each gets the same requests (multipart uploads of a few images
drawn once) at a fixed concurrency from client threads; every answer is compared with `zoo predict --json` for its
image (labels equal, scores within 1e-5). Prints requests/s, p50 and p99 latency and the ratio. Bounded: each server
gets a start-up deadline and the load a per-request timeout; the servers are stopped whatever happens.
Run: .venv/bin/python bench/serve_load.py [--requests 1000] [--concurrency 32] [--models resnet18,cnn]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

ZOO = str(Path(sys.executable).parent / "zoo")
BATCHED, SINGLE = 16, 1


def make_run(folder: Path, model_name: str) -> Path:
    """A run folder as training writes it, with the model's real random weights (a fixed seed)."""
    import torch

    import zoo
    from zoo.store.run_folder import run_config, write_json
    from zoo.store.weights import save

    torch.manual_seed(0)
    spec = zoo.get_registry().model(model_name)
    args = {"num_classes": 1000} if model_name.startswith("resnet") else {"num_classes": 10}
    save(spec.build(**args), folder / "model.safetensors")
    write_json(
        folder / "config.json",
        run_config(
            spec.name,
            {**spec.kwargs, **args},
            plugin=spec.plugin,
            plugin_version="0.1.0",
            task=spec.task,
            dataset={"name": "digits", "fingerprint": "sha256:" + "0" * 64},
            recipe=spec.default_recipe,
            seed=0,
            settings={"best_metric": "accuracy"},
        ),
    )
    write_json(folder / "metrics.json", {"accuracy": 0.0})
    return folder


def make_images(folder: Path, count: int) -> list[Path]:
    """`count` PNG photos (320 x 240 random smooth colours), written once."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        coarse = rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)
        image = Image.fromarray(coarse).resize((320, 240), Image.BILINEAR)
        paths.append(folder / f"photo{i}.png")
        image.save(paths[-1])
    return paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(run: Path, batch: int, timeout: float = 180.0) -> Iterator[str]:
    """`zoo serve RUN` on a free loopback port until the block ends (SIGINT to its process group, then SIGKILL)."""
    port = free_port()
    cmd = [ZOO, "serve", str(run), "--port", str(port), "--max-batch-size", str(batch), "--batch-timeout", "0.01"]
    with tempfile.TemporaryDirectory() as cwd:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"zoo serve exited {proc.returncode}: {proc.stderr.read().decode()[-500:]}")
                with contextlib.suppress(OSError), urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"zoo serve did not answer /health within {timeout:.0f} s")
                time.sleep(0.5)
            yield url
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def multipart(path: Path) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    return head + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post(url: str, body: bytes, content_type: str) -> tuple[float, list]:
    request = urllib.request.Request(url + "/predict", data=body, headers={"Content-Type": content_type})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        answer = json.loads(response.read())
    return time.perf_counter() - start, answer


def load(url: str, images: list[Path], requests: int, concurrency: int) -> tuple[float, list[float], list]:
    """(seconds, latencies, answers in request order) for `requests` uploads at `concurrency`."""
    bodies = [multipart(p) for p in images]
    order = [i % len(images) for i in range(requests)]
    post(url, *bodies[0])  # warm-up: the first request pays for lazy initialisation
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda i: post(url, *bodies[i]), order))
    seconds = time.perf_counter() - start
    return seconds, [r[0] for r in results], [r[1] for r in results]


def same(answer: list, expected: list) -> bool:
    [a], [e] = answer, expected
    labels = [x["label"] for x in a["output"]] == [x["label"] for x in e["output"]]
    scores = all(abs(x["score"] - y["score"]) <= 1e-5 for x, y in zip(a["output"], e["output"], strict=True))
    return a["input"] == e["input"] and labels and scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--models", default="resnet18,cnn")
    parser.add_argument("--images", type=int, default=8)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="zoo-serve-load-") as tmp:
        root = Path(tmp)
        images = make_images(root, args.images)
        for model in args.models.split(","):
            run = make_run(root / model, model)
            predicted = json.loads(
                subprocess.run(
                    [ZOO, "predict", str(run), *map(str, images), "--json", "--device", "cpu"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            expected = {row["input"]: [row] for row in predicted}
            expected = {Path(k).name: [{**v[0], "input": Path(k).name}] for k, v in expected.items()}
            figures = {}
            for batch in (BATCHED, SINGLE):
                with serving(run, batch) as url:
                    seconds, latencies, answers = load(url, images, args.requests, args.concurrency)
                wrong = sum(not same(a, expected[a[0]["input"]]) for a in answers)
                quantiles = statistics.quantiles(latencies, n=100)
                figures[batch] = (args.requests / seconds, quantiles[49] * 1000, quantiles[98] * 1000, wrong)
            for batch, (rps, p50, p99, wrong) in figures.items():
                rows.append((model, batch, rps, p50, p99, wrong, rps / figures[SINGLE][0]))
    print(f"\n{args.requests} requests at concurrency {args.concurrency}, loopback, CPU ({os.cpu_count()} cores)")
    print(f"{'model':<10}{'max batch':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'wrong':>7}{'vs batch 1':>12}")
    for model, batch, rps, p50, p99, wrong, ratio in rows:
        print(f"{model:<10}{batch:>10}{rps:>10.1f}{p50:>10.1f}{p99:>10.1f}{wrong:>7}{ratio:>11.2f}x")
    if any(row[5] for row in rows):
        sys.exit("some answers differ from zoo predict's")


if __name__ == "__main__":
    main()
