"""training_curves.png: a run's training loss and main metric per epoch, best epoch marked (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zoo.core.atomic import replacing
from zoo.store.run_folder import is_metric

# matplotlib cannot lay out an axis spanning -1e308..1e308: a diverged run's values are drawn clipped to this.
CLIP = 1e100


def series(history: Sequence[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    """(epochs, values) of one column of metrics.jsonl, leaving out rows without a finite value for it."""
    points = [(int(row["epoch"]), float(row[key])) for row in history if is_metric(row.get(key))]
    return [e for e, _ in points], [v for _, v in points]


def loss_key(history: Sequence[dict[str, Any]]) -> str:
    """The training loss column: train_loss, or the validation loss of runs recorded before zoo kept it."""
    return "train_loss" if any("train_loss" in row for row in history) else "loss"


def _drawable(points: tuple[list[int], list[float]]) -> tuple[list[int], list[float]]:
    epochs, values = points
    return epochs, [max(-CLIP, min(CLIP, v)) for v in values]


def render(history: Sequence[dict[str, Any]], metric: str | None, best_epoch: int | None, path: Path) -> Path:
    """Draw the training loss and `metric` per epoch into a PNG at `path` (atomically); mark `best_epoch`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.4), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)  # the Agg canvas, without pyplot's global state or a display
    panels = [(loss_key(history), "training loss")] + ([(metric, metric)] if metric else [])
    for index, (key, title) in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        epochs, values = _drawable(series(history, key))
        axes.plot(epochs, values, marker="o", markersize=3, color="tab:blue" if index == 0 else "tab:green")
        if key == "train_loss" and metric != "loss":
            val_epochs, val_loss = _drawable(series(history, "loss"))
            if val_loss:
                axes.plot(val_epochs, val_loss, linestyle="--", color="tab:gray", label="validation loss")
                axes.legend(loc="best", fontsize="small")
        if best_epoch in epochs:
            value = values[epochs.index(best_epoch)]
            axes.axvline(best_epoch, color="tab:red", linestyle=":", linewidth=1)
            axes.plot([best_epoch], [value], marker="*", markersize=12, color="tab:red", linestyle="none")
            if index == len(panels) - 1:
                title = f"{title} (best: epoch {best_epoch}, {value:.4g})"
        axes.set_title(title)
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
        axes.xaxis.get_major_locator().set_params(integer=True)
    with replacing(path) as tmp, open(tmp, "wb") as fh:
        figure.savefig(fh, format="png", metadata={"Software": None})
    return path
