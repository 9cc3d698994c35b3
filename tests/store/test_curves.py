"""training_curves.png: drawn from metrics.jsonl with matplotlib's Agg backend, best epoch marked in red."""

import numpy as np
from PIL import Image

from zoo.store.curves import loss_key, render, series

ROWS = [
    {"epoch": 1, "accuracy": 0.5, "loss": 1.2, "train_loss": 1.5, "train_seconds": 1.0, "steps": 10},
    {"epoch": 2, "accuracy": 0.8, "loss": 0.7, "train_loss": 0.9, "train_seconds": 1.0, "steps": 10},
    {"epoch": 3, "accuracy": 0.7, "loss": 0.8, "train_loss": 0.6, "train_seconds": 1.0, "steps": 10},
]
RED = np.array([0xD6, 0x27, 0x28])  # matplotlib's tab:red, the best-epoch marker


def red_pixels(path):
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return int((np.abs(pixels - RED).sum(axis=2) < 30).sum())


def test_png_has_both_panels_and_marks_the_best_epoch(tmp_path):
    marked, plain = render(ROWS, "accuracy", 2, tmp_path / "a.png"), render(ROWS, "accuracy", None, tmp_path / "b.png")
    with Image.open(marked) as image:
        assert image.format == "PNG" and image.size == (900, 340)
    assert red_pixels(marked) > 200 and red_pixels(plain) == 0
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # written through a temporary file


def test_series_skip_missing_and_non_finite_values():
    rows = [*ROWS, {"epoch": 4, "accuracy": float("nan")}, {"epoch": 5, "loss": 0.1}]
    assert series(rows, "accuracy") == ([1, 2, 3], [0.5, 0.8, 0.7])
    assert loss_key(rows) == "train_loss" and loss_key([{"epoch": 1, "loss": 1.0}]) == "loss"


def test_runs_recorded_before_train_loss_still_draw(tmp_path):
    old = [{k: v for k, v in row.items() if k != "train_loss"} for row in ROWS]
    assert red_pixels(render(old, "accuracy", 3, tmp_path / "c.png")) > 200
