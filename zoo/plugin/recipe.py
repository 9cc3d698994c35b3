"""The recipe contract: what a plugin supplies so the engine can train, evaluate and predict with its model.

A recipe subclasses `Recipe` and is registered as `RecipeSpec(factory="pkg.mod:MyRecipe", ...)`. The engine
owns devices, precision, the loop, checkpoints, distribution and the run folder; the recipe owns the task.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.plugin.config import TrainConfig
from zoo.plugin.export import Agreement, ExampleInputs
from zoo.plugin.services import NoPretrainedWeights, PretrainedWeights

if TYPE_CHECKING:  # for the annotations only: importing a recipe module must not import torch
    import torch
    from torch import nn

    from zoo.plugin.specs import DatasetSpec, ModelSpec, RecipeSpec

#: a batch as the loader yields it: tensors, or tuples, lists and dicts of them
Batch = Any


@dataclass
class Data:
    """What a dataset adapter returns: the datasets of one run and what the run folder records about them."""

    #: a map-style torch Dataset (len and getitem); one with a `lengths` attribute (an int per sample) is batched
    #: by length, as speech is, so padding stays small
    train: Any
    #: the validation split; None evaluates on `train`
    val: Any | None = None
    #: recorded in the run's config.json: labels, preprocessing, a `fingerprint` of the data (checked on --resume),
    #: `warnings` to show the user
    info: dict[str, Any] = field(default_factory=dict)
    #: the DataLoader's collate_fn; None for torch's default
    collate: Callable[[list[Any]], Batch] | None = None
    #: side files the run keeps in its data/ folder, for what is too large for config.json (id maps, seen
    #: lists): name -> a function that writes the file to the path it is given. Publish and pull carry them, and
    #: prediction finds them under `Recipe.run_folder`.
    files: dict[str, Callable[[Path], Any]] = field(default_factory=dict)


def tri_stage(total: int, ratios: str, initial: float = 0.01, final: float = 0.05) -> Callable[[int], float]:
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
    #: options that `--resume` may change: they change how the recipe trains, never the result (a data cache)
    RESUME_MAY_DIFFER: frozenset[str] = frozenset()

    def __init__(
        self,
        config: TrainConfig,
        *,
        model_spec: ModelSpec,
        dataset_spec: DatasetSpec,
        data_dir: Path | None,
        recipe_spec: RecipeSpec | None = None,
        pretrained: PretrainedWeights | None = None,
    ) -> None:
        #: the run's settings: the engine's fields and the recipe's own `options`
        self.config = config
        self.model_spec = model_spec
        self.dataset_spec = dataset_spec
        #: --data-dir, None for the adapter's default
        self.data_dir = data_dir
        self.recipe_spec = recipe_spec
        #: the catalog's pretrained weights (zoo provides them; a fine-tuning recipe starts from them)
        self.pretrained: PretrainedWeights = pretrained if pretrained is not None else NoPretrainedWeights()
        #: optimizer steps taken so far; the engine sets it before each training batch (exact after --resume)
        self.global_step = 0
        #: the run's config.json (labels, preprocessing, model_args) when evaluating or predicting; None in training
        self.run_config: dict[str, Any] | None = None
        #: the run folder (or pulled repository) being evaluated or predicted with, where its data/ files are
        self.run_folder: Path | None = None

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

    def model_args(self, data: Data) -> dict[str, Any]:  # noqa: ARG002 - for subclasses
        """Arguments that depend on the data (e.g. the number of classes); recorded in config.json."""
        return {}

    def build_model(self, args: dict[str, Any]) -> nn.Module:
        """The model to train (a fine-tuning recipe starts it from pretrained weights here)."""
        return self.model_spec.build(**args)

    def inference_model(self, args: dict[str, Any]) -> nn.Module:
        """The bare architecture a run's saved weights load into: no pretrained start, no download."""
        return self.model_spec.build(**args)

    # Training ---------------------------------------------------------------------------------------------

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        """The training loss of one batch (already on the device)."""
        raise NotImplementedError

    def metrics(self, model: nn.Module, batch: Batch) -> dict[str, tuple[float, float]]:
        """Per batch: metric -> (numerator, denominator); the engine sums both over batches and ranks."""
        raise NotImplementedError

    def finalize(self, values: dict[str, float]) -> dict[str, float]:
        """Turn the summed ratios into the reported metrics (e.g. rmse = sqrt(mse))."""
        return values

    def to_device(self, batch: Batch, device: torch.device | str) -> Batch:
        import torch

        if isinstance(batch, torch.Tensor):
            return batch.to(device, non_blocking=True)
        if isinstance(batch, (list, tuple)):
            return type(batch)(self.to_device(b, device) for b in batch)
        if isinstance(batch, dict):
            return {k: self.to_device(v, device) for k, v in batch.items()}
        return batch

    def configure_optimizers(
        self, model: nn.Module, steps_per_epoch: int
    ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler | None]:
        """The optimizer and a per-step scheduler (or None), from the settings."""
        optimizer = self.make_optimizer([p for p in model.parameters() if p.requires_grad])
        return optimizer, self.make_scheduler(optimizer, steps_per_epoch)

    def make_optimizer(self, params: Iterable[Any]) -> torch.optim.Optimizer:
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

    def make_scheduler(
        self, optimizer: torch.optim.Optimizer, steps_per_epoch: int
    ) -> torch.optim.lr_scheduler.LRScheduler | None:
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
    # `zoo predict` calls `predict`; `zoo serve` calls `decode` on each request as it arrives (a bad input is
    # refused there, alone) and `predict_batch` on the batch. `model` may be the eager model or an exported one
    # (onnxruntime, torch.export) that takes and returns the same tensors: use `device_of(model)`, not its
    # parameters.

    def decode(self, source: str, run_config: dict[str, Any]) -> Any:  # noqa: ARG002 - for subclasses
        """One input (a file path or an id) read and checked, ready to batch; a bad input raises UsageError."""
        return source

    def predict_batch(self, model: Any, samples: list[Any], top: int, run_config: dict[str, Any]) -> list[Any]:
        """One output per decoded sample: top-k classes, a transcript, or items."""
        raise NotImplementedError(f"the recipe {type(self).__name__} does not predict")

    def predict(self, model: Any, inputs: list[str], top: int, run_config: dict[str, Any]) -> list[Any]:
        """One output per input, rendered by the plugin's task."""
        return self.predict_batch(model, [self.decode(i, run_config) for i in inputs], top, run_config)

    # Export (zoo export, and its parity gate) -----------------------------------------------------------------

    def example_inputs(self, batch_size: int) -> ExampleInputs:
        """`batch_size` real samples of the task as the model's forward takes them, with their dynamic axes;
        `run_config` and `run_folder` are set. Subclasses of the built-in task recipes inherit theirs."""
        raise NotImplementedError(
            f"the recipe {type(self).__name__} gives no example inputs: implement Recipe.example_inputs and "
            "Recipe.agreement (CONTRIBUTING.md, 'Export'), or subclass a built-in task's recipe"
        )

    def agreement(self, eager: Any, exported: Any, inputs: ExampleInputs) -> Agreement:
        """How often the exported model's first output gives the eager model's answer (top-1, transcript, top-N)."""
        raise NotImplementedError(
            f"the recipe {type(self).__name__} cannot judge agreement: implement Recipe.agreement "
            "(CONTRIBUTING.md, 'Export')"
        )


def device_of(model: Any) -> Any:
    """The device a model's inputs go to: its first parameter's, else the CPU (an exported model)."""
    import torch

    parameters = getattr(model, "parameters", None)
    first = next(iter(parameters()), None) if callable(parameters) else None
    return first.device if first is not None else torch.device("cpu")


def first_output(output: Any) -> Any:
    """The first tensor of a forward's output (a tensor, or a tuple such as torchaudio's (logits, lengths))."""
    while isinstance(output, (tuple, list)):
        output = output[0]
    return output
