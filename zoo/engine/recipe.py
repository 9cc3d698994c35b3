"""The recipe contract: what a plugin supplies so the engine can train, evaluate and predict with its model.

A recipe subclasses `Recipe` and is registered as `RecipeSpec(factory="pkg.mod:MyRecipe", ...)`. The engine
owns devices, precision, the loop, checkpoints, distribution and the run folder; the recipe owns the task.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.engine.config import TrainConfig


@dataclass
class Data:
    """Datasets for one run. `info` goes into the run's config.json: labels, preprocessing, fingerprint.

    A dataset with a `lengths` attribute (one int per sample) is batched by length (speech), so padding stays small.
    """

    train: Any
    val: Any | None = None
    info: dict[str, Any] = field(default_factory=dict)
    collate: Any = None


def tri_stage(total: int, ratios: str, initial: float = 0.01, final: float = 0.05) -> Any:
    """The lr factor of the tri-stage schedule (wav2vec 2.0, fairseq): a linear warmup from `initial`, a hold at
    the peak, then an exponential decay to `final`; `ratios` "0.1,0.4,0.5" are the stages' shares of the steps."""
    warm, hold, _ = (float(r) for r in ratios.split(","))
    warmup_steps, hold_steps = int(warm * total), int(hold * total)
    decay_steps = max(1, total - warmup_steps - hold_steps)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return initial + (1 - initial) * step / warmup_steps
        if step < warmup_steps + hold_steps:
            return 1.0
        return final ** (min(step - warmup_steps - hold_steps, decay_steps) / decay_steps)

    return factor


class Recipe:
    """Override `loss` and `metrics`; the rest has defaults that follow the recipe's settings."""

    #: convolutional models get channels_last on CUDA
    convolutional = False
    #: DDP must look for parameters without gradients (layer drop, parts frozen for some steps)
    find_unused_parameters = False

    def __init__(
        self, config: TrainConfig, *, model: Any, dataset: Any, data_dir: Path | None, recipe: Any = None
    ) -> None:
        self.config = config
        self.model_spec = model
        self.dataset_spec = dataset
        self.data_dir = data_dir
        self.spec = recipe
        #: optimizer steps taken so far; the engine sets it before each training batch (exact after --resume)
        self.global_step = 0
        #: the run's config.json (labels, preprocessing, model_args) when evaluating or predicting; None in training
        self.run_config: dict[str, Any] | None = None

    @property
    def options(self) -> dict[str, Any]:
        return self.config.options

    @classmethod
    def check_settings(cls, config: TrainConfig) -> None:
        """Refuse what `RecipeSpec.limits` cannot say (formats of string options, options that must agree) with a
        UsageError; zoo calls this before any work, in the launching process."""

    # Data and model ---------------------------------------------------------------------------------------

    def build_data(self) -> Data:
        """The dataset adapter's output for `data_dir`."""
        return self.dataset_spec.build(data_dir=self.data_dir)

    def model_args(self, data: Data) -> dict[str, Any]:
        """Arguments that depend on the data (e.g. the number of classes); recorded in config.json."""
        return {}

    def build_model(self, args: dict[str, Any]) -> Any:
        """The model to train (a fine-tuning recipe starts it from pretrained weights here)."""
        return self.model_spec.build(**args)

    def inference_model(self, args: dict[str, Any]) -> Any:
        """The bare architecture a run's saved weights load into: no pretrained start, no download."""
        return self.model_spec.build(**args)

    # Training ---------------------------------------------------------------------------------------------

    def loss(self, model: Any, batch: Any) -> Any:
        """The training loss of one batch (already on the device)."""
        raise NotImplementedError

    def metrics(self, model: Any, batch: Any) -> dict[str, tuple[float, float]]:
        """Per batch: metric -> (numerator, denominator); the engine sums both over batches and ranks."""
        raise NotImplementedError

    def finalize(self, values: dict[str, float]) -> dict[str, float]:
        """Turn the summed ratios into the reported metrics (e.g. rmse = sqrt(mse))."""
        return values

    def to_device(self, batch: Any, device: Any) -> Any:
        import torch

        if isinstance(batch, torch.Tensor):
            return batch.to(device, non_blocking=True)
        if isinstance(batch, (list, tuple)):
            return type(batch)(self.to_device(b, device) for b in batch)
        if isinstance(batch, dict):
            return {k: self.to_device(v, device) for k, v in batch.items()}
        return batch

    def configure_optimizers(self, model: Any, steps_per_epoch: int) -> tuple[Any, Any]:
        """The optimizer and a per-step scheduler (or None), from the settings."""
        optimizer = self.make_optimizer([p for p in model.parameters() if p.requires_grad])
        return optimizer, self.make_scheduler(optimizer, steps_per_epoch)

    def make_optimizer(self, params: Any) -> Any:
        """SGD, Adam or AdamW over parameters or parameter groups (groups may set their own lr)."""
        import torch

        cfg = self.config
        if cfg.optimizer == "sgd":
            return torch.optim.SGD(
                params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=cfg.weight_decay
            )
        if cfg.optimizer == "adam":
            return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)

    def make_scheduler(self, optimizer: Any, steps_per_epoch: int) -> Any:
        """OneCycle, linear warmup then cosine, or tri-stage, stepped every optimizer step; None for "none"."""
        import torch

        cfg = self.config
        total = max(1, cfg.epochs * steps_per_epoch)
        if cfg.scheduler == "onecycle":
            pct = min(0.5, max(0.05, cfg.warmup_epochs / cfg.epochs)) if cfg.warmup_epochs else 0.25
            if pct * total <= 1:
                # OneCycleLR divides by (pct * total - 1): with at most one warm-up step there is none; anneal from
                # the peak from the first step instead (any total >= 1 works).
                pct = 0.5 / total
            peaks = [group["lr"] for group in optimizer.param_groups]
            return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peaks, total_steps=total, pct_start=pct)
        if cfg.scheduler == "tri-stage":
            return torch.optim.lr_scheduler.LambdaLR(optimizer, tri_stage(total, cfg.stage_ratios))
        if cfg.scheduler == "cosine":
            warmup = int(cfg.warmup_epochs * steps_per_epoch)

            def factor(step: int) -> float:
                if step < warmup:
                    return (step + 1) / warmup
                return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

            return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return None

    # Inference --------------------------------------------------------------------------------------------

    def predict(self, model: Any, inputs: list[str], top: int, run_config: dict[str, Any]) -> list[Any]:
        """One output per input: top-k classes, a transcript, or items; rendered by the plugin's task."""
        raise NotImplementedError(f"the recipe {type(self).__name__} does not predict")
