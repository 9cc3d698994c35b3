"""The training loop's position and history: what every checkpoint saves so a run continues exactly."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

#: what a history row holds besides the epoch's validation metrics
EPOCH_ONLY = ("train_loss", "train_seconds", "steps")


@dataclass
class Best:
    """The best epoch so far by `best_metric` (score is the metric, negated when lower is better)."""

    score: float
    epoch: int
    metrics: dict[str, float]


@dataclass
class LoopState:
    """Where the loop is (epoch and batch within it, optimizer steps), what it has measured, the best so far."""

    #: epochs finished
    epoch: int = 0
    #: batches of the current epoch already trained (0 between epochs)
    batch: int = 0
    #: optimizer steps taken in the whole run
    global_step: int = 0
    #: global_step when the current epoch began, for the steps of an epoch resumed midway
    epoch_first_step: int = 0
    #: the current epoch's training losses so far: their sum and count (for the epoch's mean train_loss)
    loss_sum: float = 0.0
    loss_count: int = 0
    #: wall time of the finished epochs (training and evaluation), across resumes
    seconds: float = 0.0
    #: one row per finished epoch: its metrics, train_loss, train_seconds and steps
    history: list[dict[str, Any]] = field(default_factory=list)
    best: Best | None = None
    #: a CPU copy of the best epoch's weights (with best_metric set)
    best_weights: dict[str, Any] | None = None

    def to_checkpoint(self) -> dict[str, Any]:
        """The checkpoint's top-level keys (plain types and tensors, so weights_only loading reads them)."""
        saved = {f.name: getattr(self, f.name) for f in fields(self)}
        saved["best"] = asdict(self.best) if self.best is not None else None
        return saved

    @classmethod
    def from_checkpoint(cls, ckpt: dict[str, Any]) -> LoopState:
        defaults = cls()
        values = {f.name: ckpt.get(f.name, getattr(defaults, f.name)) for f in fields(cls)}
        values["best"] = Best(**values["best"]) if values["best"] is not None else None
        return cls(**values)

    def where(self) -> str:
        """The position in words, for the log and the interrupt message."""
        return f"after epoch {self.epoch}" if self.batch == 0 else f"at epoch {self.epoch + 1}, batch {self.batch}"

    def end_epoch(self, metrics: dict[str, float], train_loss: float, train_seconds: float, seconds: float) -> None:
        """Record the epoch just trained and evaluated: its metrics, mean training loss and times."""
        self.history.append(
            {
                "epoch": self.epoch + 1,
                **metrics,
                "train_loss": round(train_loss, 6),
                "train_seconds": round(train_seconds, 4),
                "steps": self.global_step - self.epoch_first_step,
            }
        )
        self.epoch, self.batch = self.epoch + 1, 0
        self.loss_sum, self.loss_count = 0.0, 0
        self.seconds += seconds

    def improved(self, best_metric: str, metrics: dict[str, float]) -> bool:
        """Record the epoch just ended as the best when `best_metric` ("acc", or "-loss" for lower is better)
        improved; say whether it did."""
        name, sign = (best_metric[1:], -1.0) if best_metric.startswith("-") else (best_metric, 1.0)
        score = sign * metrics[name]
        if self.best is not None and score <= self.best.score:
            return False
        self.best = Best(score=score, epoch=len(self.history), metrics=metrics)
        return True

    def patience_spent(self, patience: int) -> bool:
        """Early stopping: `patience` epochs without a better best_metric."""
        return bool(patience and self.best) and len(self.history) - self.best.epoch >= patience

    def final_metrics(self) -> dict[str, float]:
        """The best epoch's metrics when a best_metric is set, else the last epoch's; with the epoch number."""
        if self.best is not None:
            return {**self.best.metrics, "epoch": self.best.epoch}
        return {k: v for k, v in self.history[-1].items() if k not in EPOCH_ONLY}
