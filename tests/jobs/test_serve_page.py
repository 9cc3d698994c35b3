"""`zoo serve`'s page (GET /): a hostile model card shown escaped, curves drawn from a real run's metrics.jsonl, and
the page driven in Debian's chromium (playwright) against the real `zoo serve`, answering as `zoo predict` does."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
from zoo_fixtures import ZOO, free_port

from zoo.jobs.inference import load_for_inference
from zoo.jobs.serve_page import page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


class Elements(HTMLParser):
    """Every start tag with its attributes, the text outside tags, and each <script>'s text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if tag == "script":
            self.scripts.append("")

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)

    def attrs(self, name: str) -> list[str]:
        return [a[name] or "" for _, a in self.tags if name in a]


def zoo_env(params_cache: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOO_", "HF_", "MLFLOW_", "PYTHONPATH"))}
    env.update(ZOO_CACHE_DIR=str(params_cache), HF_HOME=str(home / "hf"), COLUMNS="200", NO_COLOR="1")
    return env


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory, params_cache) -> tuple[Path, dict[str, str]]:
    """A cnn trained 3 epochs on digits (CPU): a real metrics.jsonl; and the environment its `zoo` commands use."""
    work = tmp_path_factory.mktemp("page")
    env = zoo_env(params_cache, work)
    train = [str(ZOO), "train", "cnn", "--dataset", "digits", "--epochs", "3", "--device", "cpu", "--quiet"]
    proc = subprocess.run([*train, "--out", str(work / "run")], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return work / "run", env


def render(run: Path, folder: Path | None = None, **info) -> str:
    recipe, _, config = load_for_inference(str(run), device="cpu")
    metrics = json.loads((run / "metrics.json").read_text())
    details = {"model": "cnn", "repo_id": None, "revision": None, "files": [], "task": config["task"]}
    return page(recipe, config, folder or run, {**details, "metrics": metrics, **info})


def png_bytes(size: int = 8) -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


HOSTILE_CARD = """---
library_name: zoo
secret_front_matter: yes
---
# Card <script>alert('card')</script>

<img src="https://evil.example/pixel.png" onerror="alert('img')">

[a javascript link](javascript:alert('link')) and [a page](https://example.org/about)

![remote](https://evil.example/track.png) ![local](shot.png) ![outside](../outside.png) ![fake](fake.png)

| metric | value |
|---|---|
| <b onmouseover="alert('cell')">bold</b> | 1 |
"""


def test_a_hostile_card_and_hostile_names_are_shown_as_text(digits_run, tmp_path):
    run, _ = digits_run
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "README.md").write_text(HOSTILE_CARD)
    (folder / "shot.png").write_bytes(png_bytes())
    (tmp_path / "outside.png").write_bytes(png_bytes(9))
    (folder / "fake.png").write_text("<svg onload=alert(1)>")
    html = render(
        run,
        folder,
        model="<script>alert('model')</script>",
        repo_id='me/x"><b>',
        revision="<i>rev",
        metrics={"<img src=x onerror=alert('metric')>": 0.5, "epoch": 1},
        files=[{"path": "<svg/onload=alert('file')>", "sha256": "&lt;"}],
    )
    parsed = Elements(html)
    script = (Path(__file__).parents[2] / "zoo" / "templates" / "serve" / "page.js").read_text()
    assert parsed.scripts == [script]  # the page's own script, and no other
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    [csp] = [a["content"] for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert f"script-src 'sha256-{digest}';" in csp and "default-src 'none'" in csp
    assert not [(t, a) for t, a in parsed.tags if any(name.startswith("on") for name in a)]
    assert {t for t, _ in parsed.tags} >= {"h1", "table", "form", "img"}
    assert not {"b", "i"} & {t for t, _ in parsed.tags}  # the card's and the names' markup is text
    sources = parsed.attrs("src")
    assert [s[:22] for s in sources] == ["data:image/png;base64,"]  # shot.png, inlined; nothing else
    assert base64.b64decode(sources[0].split(",", 1)[1]) == (folder / "shot.png").read_bytes()
    assert sorted(parsed.attrs("href")) == ["data:,", "https://example.org/about"]
    text = "".join(parsed.text)
    for shown in (
        "<script>alert('card')</script>",
        "<script>alert('model')</script>",
        "<img src=x onerror=alert('metric')>",
        "<svg/onload=alert('file')>",
        'me/x"><b>',
        "[a javascript link](javascript:alert('link'))",
        "[image: remote]",
        "[image: outside]",
        "[image: fake]",
        "&lt;",
    ):
        assert shown in text, shown
    assert "secret_front_matter" not in html


def circles(html: str, panel: str) -> dict[str, list[tuple[float, float, int, float]]]:
    """{series: [(cx, cy, epoch, value)]} of one SVG panel, in drawing order."""
    svg = re.search(rf'<svg [^>]*data-panel="{panel}".*?</svg>', html, re.DOTALL).group(0)
    points: dict[str, list[tuple[float, float, int, float]]] = {}
    for label in re.findall(r'<polyline data-series="([^"]+)"', svg):
        found = re.findall(
            rf'<circle cx="([-\d.]+)" cy="([-\d.]+)" r="3" fill="[^"]+" data-epoch="(\d+)" data-value="([^"]+)">'
            rf"<title>{re.escape(label)}, ",
            svg,
        )
        points[label] = [(float(x), float(y), int(e), float(v)) for x, y, e, v in found]
    return points


def test_the_curves_are_drawn_from_the_runs_metrics_jsonl(digits_run):
    run, _ = digits_run
    html = render(run)
    history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    best = json.loads((run / "metrics.json").read_text())["epoch"]
    drawn = {**circles(html, "loss"), **circles(html, "accuracy")}
    assert sorted(drawn) == ["accuracy", "training loss", "validation loss"]
    every_y = {}
    for label, key in (("training loss", "train_loss"), ("validation loss", "loss"), ("accuracy", "accuracy")):
        points = drawn[label]
        assert [(e, v) for _, _, e, v in points] == [(row["epoch"], row[key]) for row in history]
        # x: evenly spaced by epoch; y: one downward affine map of the values on each panel
        xs = [x for x, _, _, _ in points]
        assert xs == sorted(xs) and max(xs) - min(xs) > 300
        assert len({round(b - a, 1) for a, b in itertools.pairwise(xs)}) == 1
        every_y[label] = [(y, v) for _, y, _, v in points]
    for panel in (("training loss", "validation loss"), ("accuracy",)):
        pairs = [p for label in panel for p in every_y[label]]
        (y0, v0), *rest = pairs
        slopes = {round((y - y0) / (v - v0), 0) for y, v in rest if v != v0}
        assert len(slopes) == 1 and slopes.pop() < 0, pairs
    # the star sits on the accuracy point of the best epoch, which the title names
    [(bx, by, _, bv)] = [p for p in drawn["accuracy"] if p[2] == best]
    star = re.search(r'<polygon class="best" points="([^"]+)"', html).group(1)
    corners = [tuple(map(float, c.split(","))) for c in star.split()]
    assert abs(sum(c[0] for c in corners) / 10 - bx) < 0.05 and abs(sum(c[1] for c in corners) / 10 - by) < 1
    assert f"accuracy (best: epoch {best}, {bv:.4g})" in html


@pytest.fixture(scope="module")
def served(digits_run, tmp_path_factory):
    """The real `zoo serve` on the digits run, on a free loopback port, in its own process group: its base URL."""
    run, env = digits_run
    work = tmp_path_factory.mktemp("serve")
    port = free_port()
    log = open(work / "serve.log", "wb")  # noqa: SIM115 - open for the server's lifetime
    command = [str(ZOO), "serve", str(run), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"]
    proc = subprocess.Popen(command, env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except (OSError, urllib.error.URLError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL) if proc.poll() is None else None
            pytest.fail(f"zoo serve did not start: {(work / 'serve.log').read_text()[-3000:]}")
        time.sleep(0.2)
    yield url
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.close()


def digit_png(path: Path) -> Path:
    """A drawn digit, 32 x 32, as a PNG."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (32, 32), (0, 0, 0))
    ImageDraw.Draw(image).line([(8, 6), (24, 6), (14, 27)], fill=(255, 255, 255), width=3)
    image.save(path)
    return path


def post_file(url: str, path: Path) -> tuple[int, dict]:
    boundary = "zoo-page-test"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + path.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{url}/predict", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_in_chromium_the_page_answers_as_zoo_predict_does(served, digits_run, tmp_path):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: 'make setup' installs it (scripts/install_browser.sh)"
    run, env = digits_run
    image = digit_png(tmp_path / "seven.png")
    predicted = subprocess.run(
        [str(ZOO), "predict", str(run), str(image), "--json", "--device", "cpu"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert predicted.returncode == 0, predicted.stderr
    [expected] = json.loads(predicted.stdout)
    not_image = tmp_path / "notes.txt"
    not_image.write_text("not an image at all\n")
    status, refusal = post_file(served, not_image)
    assert 400 <= status < 500 and set(refusal) == {"error"}

    requests, problems = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page_ = browser.new_page()
            page_.on("request", lambda r: requests.append(r.url))
            page_.on("pageerror", lambda e: problems.append(str(e)))
            page_.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
            page_.goto(served + "/", wait_until="load")
            assert page_.locator("h1").inner_text() == "cnn"
            assert page_.locator('svg[data-panel="accuracy"]').count() == 1

            page_.set_input_files("input[name=file]", str(image))
            page_.click("button[type=submit]")
            page_.wait_for_selector("#answer table.labels")
            shown = [
                (row.locator("td.label").inner_text(), float(row.locator("td.score").inner_text()))
                for row in page_.locator("#answer tbody tr").all()
            ]
            answer_for = page_.locator("#answer p").inner_text()
            assert page_.locator("#error").inner_text() == ""

            page_.set_input_files("input[name=file]", str(not_image))
            page_.click("button[type=submit]")
            page_.wait_for_selector("#error:not(:empty)")  # a selector, not a function: the page's CSP forbids eval
            error_line = page_.locator("#error").inner_text()
            answer_after_error = page_.locator("#answer").inner_text()
        finally:
            browser.close()

    assert answer_for == f"Answer for {image.name}" == f"Answer for {expected['input'].rsplit('/', 1)[-1]}"
    assert shown == [(o["label"], o["score"]) for o in expected["output"]] and len(shown) == 5
    assert error_line == refusal["error"] and "\n" not in error_line
    assert answer_after_error == ""
    assert problems == []
    assert requests and all(u.startswith(served + "/") or u.startswith(("data:", "blob:")) for u in requests), requests
