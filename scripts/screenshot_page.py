"""docs/serve_page.png: `zoo serve`'s page after a prediction, taken in Debian's chromium through playwright.

    .venv/bin/python scripts/screenshot_page.py [--run RUN_DIR] [--out docs/serve_page.png]

Without --run it trains a cnn on digits (CPU, 15 epochs at lr 0.01) in a temporary folder. It serves the run on a
free loopback port, uploads a digit of the validation split through the page's form, waits for the answer, and saves
a full-page screenshot.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ZOO = Path(sys.executable).with_name("zoo")
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train(folder: Path) -> Path:
    run = folder / "cnn-digits"
    command = [
        str(ZOO),
        "train",
        "cnn",
        "--dataset",
        "digits",
        "--epochs",
        "15",
        "--set",
        "lr=0.01",
        "--device",
        "cpu",
        "--quiet",
    ]
    subprocess.run([*command, "--out", str(run)], check=True)
    return run


def validation_digit(folder: Path, index: int = 3) -> Path:
    """One image of the digits validation split as a PNG named after its label."""
    from PIL import Image
    from zoo_images.digits import load

    data = load()
    image, label = data.val[index]
    path = folder / f"digit-{int(label)}.png"
    Image.fromarray(image.permute(1, 2, 0).numpy()).save(path)
    return path


def wait_until_up(url: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"zoo serve did not start at {url}")


def screenshot(url: str, image: Path, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(url + "/", wait_until="load")
            page.set_input_files("input[name=file]", str(image))
            page.click("button[type=submit]")
            page.wait_for_selector("#answer table")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=True)
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a run folder to serve (default: train a cnn on digits)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "docs" / "serve_page.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zoo-page-") as work:
        folder = Path(work)
        run = args.run or train(folder)
        image = validation_digit(folder)
        url = f"http://127.0.0.1:{free_port()}"
        command = [str(ZOO), "serve", str(run), "--port", url.rsplit(":", 1)[1], "--device", "cpu"]
        proc = subprocess.Popen(command, cwd=folder, start_new_session=True)
        try:
            wait_until_up(url, proc)
            screenshot(url, image, args.out)
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=15)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
