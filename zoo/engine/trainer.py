"""The training loop: devices, precision, accumulation, clipping, EMA, checkpoints, exact resume, DDP, run folder."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import random
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, TensorDataset

from zoo.atomic import write_text
from zoo.engine.checkpoint import FORMAT, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from zoo.engine.recipe import Data, Recipe
from zoo.engine.sampler import BucketBatchSampler, ResumableSampler, sorted_batches
from zoo.errors import UsageError, ZooError

CHECKPOINT = Path("checkpoints") / "last.pt"
# The loop's position and history, saved in every checkpoint.
STATE_KEYS = ("epoch", "batch", "global_step", "epoch_first_step", "history", "best", "best_weights")


class TrainingInterrupted(ZooError):
    """Ctrl-C during training: a checkpoint was saved first."""

    exit_code = 130


@dataclass(frozen=True)
class Dist:
    """This process's place in a torch.distributed job (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> Dist:
        return cls(
            int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))
        )


@dataclass
class RunInfo:
    """Names recorded in the run folder."""

    model: str
    recipe: str
    dataset: str
    plugin: str
    plugin_version: str | None
    task: str
    overrides: dict[str, Any]


def choose_device(requested: str, dist: Dist) -> torch.device:
    """`auto`: cuda, then mps, then cpu. Asking for a device that is not there is a usage error."""
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if requested == "cuda":
        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA GPU is visible here. Use --device cpu (or auto).")
        return torch.device("cuda", dist.local_rank)
    if requested == "mps" and not has_mps:
        raise UsageError("--device mps: Apple's MPS backend is not available here. Use --device cpu (or auto).")
    return torch.device(requested)


def choose_precision(requested: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for fp32. `auto`: bf16 on CUDA GPUs that support it, else fp32."""
    if requested == "auto":
        return torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else None
    if requested == "fp16" and device.type != "cuda":
        raise UsageError("--precision fp16 needs a CUDA GPU; use bf16 or fp32 on this device.")
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[requested]


def seed_everything(seed: int, deterministic: bool, device: torch.device) -> None:
    """Seed every generator. `deterministic` asks CUDA for deterministic kernels; CPU kernels already are for a
    fixed thread count, and torch's deterministic mode would only slow them (about 5% on a CPU ResNet)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if device.type == "cuda" and deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    else:
        torch.use_deterministic_algorithms(False)
        torch.backends.cudnn.benchmark = device.type == "cuda"  # let cuDNN pick the fastest kernels


def weights_digest(model: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class Trainer:
    """Trains one recipe into one run folder; construct, then call `fit()`."""

    def __init__(
        self,
        recipe: Recipe,
        info: RunInfo,
        out: Path,
        *,
        resume: bool = False,
        quiet: bool = False,
        dist: Dist | None = None,
    ) -> None:
        self.recipe, self.cfg, self.info, self.out = recipe, recipe.config, info, Path(out)
        self.resume, self.quiet, self.dist = resume, quiet, dist or Dist()
        self.device = choose_device(self.cfg.device, self.dist)
        self.autocast_dtype = choose_precision(self.cfg.precision, self.device)
        self._stop_requested = False
        self.log = logging.getLogger(f"zoo.train.{id(self)}")
        self.log.propagate = False
        self.log.setLevel(logging.INFO)

    # Set-up -----------------------------------------------------------------------------------------------

    def _check_out(self) -> None:
        checkpoint = self.out / CHECKPOINT
        if self.resume and not checkpoint.is_file():
            raise UsageError(f"nothing to resume: {checkpoint} does not exist. Drop --resume to start a new run.")
        if not self.resume and (checkpoint.is_file() or (self.out / "model.safetensors").is_file()):
            raise UsageError(f"{self.out} already holds a run: pass --resume to continue it, or another --out.")

    def _open_log(self) -> None:
        if self.dist.main:
            self.out.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(self.out / "train.log", encoding="utf-8", delay=True)
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
            self.log.addHandler(handler)
        else:
            self.log.addHandler(logging.NullHandler())

    def _loaders(self, data: Data) -> tuple[DataLoader, DataLoader, ResumableSampler | BucketBatchSampler]:
        cfg, dist = self.cfg, self.dist
        per_rank = math.ceil(len(data.train) / dist.world)
        if cfg.drop_last and cfg.batch_size > per_rank:
            raise UsageError(
                f"--batch-size {cfg.batch_size} is larger than the {per_rank} training samples per "
                "process, and drop_last is set: no batch would remain. Use a smaller batch."
            )
        workers = cfg.workers()
        common = {"num_workers": workers, "pin_memory": self.device.type == "cuda", "persistent_workers": workers > 0}
        sampler = ResumableSampler(len(data.train), cfg.seed, True, dist.rank, dist.world, cfg.drop_last)
        val_set = data.val if data.val is not None else data.train
        val_indices = list(range(dist.rank, len(val_set), dist.world))
        # Each loader gets its own generator, so creating an iterator never draws from the global RNG.
        seeded = {"generator": torch.Generator().manual_seed(cfg.seed)}
        lengths = getattr(data.train, "lengths", None)
        if lengths is not None:  # variable-length samples (speech): batches of similar length, little padding
            batches = BucketBatchSampler(lengths, cfg.batch_size, cfg.seed, dist.rank, dist.world, cfg.drop_last)
            train = DataLoader(data.train, batch_sampler=batches, collate_fn=data.collate, **common, **seeded)
            val = eval_loader(val_set, cfg.batch_size, data.collate, val_indices, **common)
            return train, val, batches
        if data.collate is None and isinstance(data.train, TensorDataset) and isinstance(val_set, TensorDataset):
            # In-memory tensors: index a whole batch at once instead of collating it sample by sample.
            # Same batches in the same order, so results and resume are unchanged.
            train = DataLoader(
                data.train,
                batch_size=None,
                **common,
                **seeded,
                sampler=BatchSampler(sampler, cfg.batch_size, cfg.drop_last),
            )
            val = DataLoader(
                val_set, batch_size=None, **common, **seeded, sampler=BatchSampler(val_indices, cfg.batch_size, False)
            )
        else:
            train = DataLoader(
                data.train,
                batch_size=cfg.batch_size,
                sampler=sampler,
                drop_last=cfg.drop_last,
                collate_fn=data.collate,
                **common,
                **seeded,
            )
            val = eval_loader(val_set, cfg.batch_size, data.collate, val_indices, **common, **seeded)
        return train, val, sampler

    def _model(self, data: Data) -> tuple[torch.nn.Module, dict[str, Any]]:
        args = self.recipe.model_args(data)
        model = self.recipe.build_model(args).to(self.device)
        if self.recipe.convolutional and self.cfg.channels_last and self.device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        return model, args

    # The loop ---------------------------------------------------------------------------------------------

    def fit(self) -> dict[str, Any]:
        self._check_out()
        ckpt = self._resume_checkpoint() if self.resume else None
        seed_everything(self.cfg.seed, self.cfg.deterministic, self.device)
        data = self.recipe.build_data()
        if ckpt is not None:
            self._check_same_data(ckpt.get("run") or {}, data)
        train_loader, val_loader, sampler = self._loaders(data)
        model, model_args = self._model(data)
        self._open_log()
        for warning in data.info.get("warnings", []) if self.dist.main else []:
            self.log.info("warning: %s", warning)
            sys.stderr.write(f"warning: {warning}\n")
        steps_per_epoch = max(1, math.ceil(len(train_loader) / self.cfg.grad_accum))
        optimizer, scheduler = self.recipe.configure_optimizers(model, steps_per_epoch)
        scaler = torch.amp.GradScaler(self.device.type, enabled=self.autocast_dtype == torch.float16)
        ema = None
        if self.cfg.ema_decay:
            from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

            ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(self.cfg.ema_decay), use_buffers=True)
        train_model: torch.nn.Module = model
        if self.dist.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            train_model = DistributedDataParallel(
                model,
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=self.recipe.find_unused_parameters,
            )
        if self.cfg.compile:
            train_model = torch.compile(train_model)

        state = {
            "epoch": 0,
            "batch": 0,
            "global_step": 0,
            "epoch_first_step": 0,
            "history": [],
            "best": None,
            "best_weights": None,
        }
        if ckpt is not None:
            try:
                model.load_state_dict(ckpt["model"])
            except RuntimeError as exc:
                raise UsageError(
                    f"cannot resume from {self.out / CHECKPOINT}: its weights do not fit this model "
                    f"({str(exc).splitlines()[0]}). Start a new run with another --out."
                ) from None
            optimizer.load_state_dict(ckpt["optimizer"])
            if scheduler is not None and ckpt["scheduler"] is not None:
                scheduler.load_state_dict(ckpt["scheduler"])
            scaler.load_state_dict(ckpt["scaler"])
            if ema is not None and ckpt["ema"] is not None:
                ema.load_state_dict(ckpt["ema"])
            state.update({k: ckpt[k] for k in STATE_KEYS})
            set_rng_state(ckpt["rng"])
            self.log.info("resumed from %s at epoch %d, batch %d", CHECKPOINT, state["epoch"] + 1, state["batch"])
        else:
            self.log.info("start %s: %s", self.info.recipe, json.dumps(dataclasses.asdict(self.cfg), default=str))

        def checkpoint() -> None:
            if not self.dist.main:
                return
            save_checkpoint(
                self.out / CHECKPOINT,
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict() if scheduler is not None else None,
                    "scaler": scaler.state_dict(),
                    "ema": ema.state_dict() if ema is not None else None,
                    "rng": rng_state(),
                    "config": self._settings(),
                    "format": FORMAT,
                    "run": {**self._identity(), "fingerprint": data.info.get("fingerprint")},
                    **{k: state[k] for k in STATE_KEYS},
                },
            )
            where = (
                f"after epoch {state['epoch']}"
                if state["batch"] == 0
                else f"at epoch {state['epoch'] + 1}, batch {state['batch']}"
            )
            self.log.info("checkpoint saved %s (step %d)", where, state["global_step"])

        previous = signal.getsignal(signal.SIGINT)
        with contextlib.suppress(ValueError):  # only the main thread may set handlers
            signal.signal(signal.SIGINT, self._on_sigint)
        progress = self._progress()
        started = time.perf_counter()
        try:
            while state["epoch"] < self.cfg.epochs:
                epoch = state["epoch"]
                sampler.set_position(epoch, state["batch"] * self.cfg.batch_size)
                epoch_started = time.perf_counter()
                if state["batch"] == 0:
                    state["epoch_first_step"] = state["global_step"]
                self._train_epoch(
                    train_model,
                    train_loader,
                    optimizer,
                    scheduler,
                    scaler,
                    ema,
                    state,
                    checkpoint,
                    progress,
                    steps_per_epoch,
                )
                eval_model = ema.module if ema is not None else model
                train_seconds = time.perf_counter() - epoch_started
                metrics = self.evaluate(eval_model, val_loader)
                state["history"].append(
                    {
                        "epoch": epoch + 1,
                        **metrics,
                        "train_seconds": round(train_seconds, 4),
                        "steps": state["global_step"] - state["epoch_first_step"],
                    }
                )
                self.log.info("epoch %d/%d: %s", epoch + 1, self.cfg.epochs, json.dumps(metrics))
                self._track_best(state, metrics, eval_model)
                state["epoch"], state["batch"] = epoch + 1, 0
                checkpoint()
                if self._should_stop(state):
                    self.log.info("early stop: no better %s for %d epochs", self.cfg.best_metric, self.cfg.patience)
                    break
        finally:
            if progress is not None:
                progress.stop()
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGINT, previous)
        final_model = ema.module if ema is not None else model
        if state["best_weights"] is not None:
            final_model.load_state_dict(state["best_weights"])
        final_metrics = self._final_metrics(state)
        digest = self._check_ranks_agree(final_model)
        seconds = time.perf_counter() - started
        if self.dist.main:
            self._write_run(final_model, model_args, data, state, final_metrics, digest)
            self.log.info("done in %.1f s: %s", seconds, json.dumps(final_metrics))
        return {
            "run_dir": str(self.out),
            "model": self.info.model,
            "recipe": self.info.recipe,
            "dataset": self.info.dataset,
            "epochs": len(state["history"]),
            "metrics": final_metrics,
            "seconds": round(seconds, 3),
        }

    def _train_epoch(
        self, model, loader, optimizer, scheduler, scaler, ema, state, checkpoint, progress, steps_per_epoch
    ) -> None:
        cfg, recipe, device = self.cfg, self.recipe, self.device
        model.train()
        autocast = (
            torch.autocast(device.type, dtype=self.autocast_dtype)
            if self.autocast_dtype is not None
            else contextlib.nullcontext()
        )
        accum, pending = cfg.grad_accum, 0
        last_log, last_step = time.perf_counter(), state["global_step"]
        loss = None  # a run resumed at the very end of an epoch has no batch left in it
        task = (
            progress.add_task(
                f"epoch {state['epoch'] + 1}/{cfg.epochs}",
                total=len(loader) + state["batch"],
                completed=state["batch"],
                loss=float("nan"),
                rate=0.0,
            )
            if progress
            else None
        )
        # The loader yields CPU tensors: the default to_device is work only for another device.
        move = device.type != "cpu" or type(recipe).to_device is not Recipe.to_device
        scale = scaler.scale if scaler.is_enabled() else None
        for batch in loader:
            if move:
                batch = recipe.to_device(batch, device)
            recipe.global_step = state["global_step"]
            with autocast:
                loss = recipe.loss(model, batch)
            scaled = loss / accum if accum > 1 else loss
            (scale(scaled) if scale is not None else scaled).backward()
            pending += 1
            state["batch"] += 1
            if pending == accum:
                self._step(model, optimizer, scheduler, scaler, ema, state)
                pending = 0
                if cfg.checkpoint_every and state["global_step"] % cfg.checkpoint_every == 0:
                    checkpoint()
                if self._stop_requested:
                    checkpoint()
                    raise TrainingInterrupted(
                        f"interrupted: checkpoint saved at epoch {state['epoch'] + 1}, batch {state['batch']}. "
                        f"Continue with: zoo train ... --out {self.out} --resume"
                    )
            if task is not None and state["batch"] % cfg.log_every == 0:
                now = time.perf_counter()
                rate = (state["global_step"] - last_step) * cfg.batch_size * accum / max(now - last_log, 1e-9)
                progress.update(task, completed=state["batch"], loss=loss.item(), rate=rate * self.dist.world)
                last_log, last_step = now, state["global_step"]
        if pending:  # a last partial accumulation at the end of the epoch still updates the weights
            self._step(model, optimizer, scheduler, scaler, ema, state)
        if task is not None:  # the epoch's last figures, also for epochs shorter than log_every
            seconds = max(time.perf_counter() - last_log, 1e-9)
            rate = (state["global_step"] - last_step) * cfg.batch_size * accum / seconds * self.dist.world
            shown = {"loss": loss.item()} if loss is not None else {}
            progress.update(task, completed=state["batch"], **shown, **({"rate": rate} if rate else {}))

    def _step(self, model, optimizer, scheduler, scaler, ema, state) -> None:
        if scaler.is_enabled():  # fp16: unscale for clipping, skip steps with inf/nan gradients
            if self.cfg.grad_clip:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), self.cfg.grad_clip)
            scaler.step(optimizer)
            scaler.update()
        else:
            if self.cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), self.cfg.grad_clip)
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if scheduler is not None:
            scheduler.step()
        if ema is not None:
            ema.update_parameters(model.module if hasattr(model, "module") else model)
        state["global_step"] += 1

    # Settings that do not change the arithmetic may differ on resume; epochs may grow.
    RESUME_MAY_DIFFER = frozenset({"epochs", "device", "num_workers", "log_every", "checkpoint_every", "patience"})

    def _settings(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self.cfg), default=str))

    def _identity(self) -> dict[str, str]:
        return {"model": self.info.model, "recipe": self.info.recipe, "dataset": self.info.dataset}

    def _resume_checkpoint(self) -> dict[str, Any]:
        """The checkpoint to continue, refused (before any data is read) when it belongs to another job."""
        ckpt = load_checkpoint(self.out / CHECKPOINT)
        saved = {k: v for k, v in (ckpt.get("run") or {}).items() if k in ("model", "recipe", "dataset")}
        now = self._identity()
        differ = [k for k in saved if saved[k] != now[k]]
        if differ:
            changes = ", ".join(f"{k} {saved[k]!r} -> {now[k]!r}" for k in differ)
            raise UsageError(
                f"--resume: {self.out} holds a run of another job ({changes}). Resume it with the same model, "
                "recipe and dataset, or start a new run with another --out."
            )
        self._check_same_settings(ckpt["config"])
        return ckpt

    def _check_same_data(self, saved: dict[str, Any], data: Data) -> None:
        before, now = saved.get("fingerprint"), data.info.get("fingerprint")
        if before and now and before != now:
            raise UsageError(
                f"--resume: the data differs from what {self.out} was trained on (fingerprint {before[:19]}... "
                f"now {now[:19]}...). Resume with the same --data-dir, or start a new run with another --out."
            )

    def _check_same_settings(self, saved: dict[str, Any]) -> None:
        now = self._settings()
        differ = sorted(
            k for k in set(saved) | set(now) if k not in self.RESUME_MAY_DIFFER and saved.get(k) != now.get(k)
        )
        if differ:
            changes = ", ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in differ)
            raise UsageError(
                f"--resume with other settings than the checkpoint's ({changes}): resume with the "
                "same settings, or start a new run with another --out."
            )
        if saved.get("epochs") != now["epochs"] and now["scheduler"] != "none":
            raise UsageError(
                f"--resume with --epochs {now['epochs']}: the checkpoint's {now['scheduler']} schedule was planned "
                f"for {saved.get('epochs')} epochs and cannot stretch. Resume with --epochs {saved.get('epochs')}, "
                "or start a new run with another --out."
            )

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self._stop_requested:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self._stop_requested = True

    # Metrics ----------------------------------------------------------------------------------------------

    def evaluate(self, model: torch.nn.Module, loader: DataLoader) -> dict[str, float]:
        return evaluate_model(self.recipe, model, loader, self.autocast_dtype, self.dist)

    def _track_best(self, state: dict, metrics: dict[str, float], model: torch.nn.Module) -> None:
        """Remember the epoch and a copy of the weights when `best_metric` improves."""
        key = self.cfg.best_metric
        if not key:
            return
        name, sign = (key[1:], -1.0) if key.startswith("-") else (key, 1.0)
        if name not in metrics:
            raise UsageError(f"best_metric '{name}' is not among the recipe's metrics: {', '.join(metrics)}")
        score = sign * metrics[name]
        if state["best"] is None or score > state["best"]["score"]:
            state["best"] = {"score": score, "epoch": len(state["history"]), "metrics": metrics}
            state["best_weights"] = {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}

    def _should_stop(self, state: dict) -> bool:
        """Early stopping: `patience` epochs without a better `best_metric`."""
        if not (self.cfg.best_metric and self.cfg.patience and state["best"]):
            return False
        return len(state["history"]) - state["best"]["epoch"] >= self.cfg.patience

    def _final_metrics(self, state: dict) -> dict[str, float]:
        """The best epoch's metrics when a best_metric is set, else the last epoch's; with the epoch number."""
        if state["best"] is not None:
            return {**state["best"]["metrics"], "epoch": state["best"]["epoch"]}
        return {k: v for k, v in state["history"][-1].items() if k not in ("train_seconds", "steps")}

    def _check_ranks_agree(self, model: torch.nn.Module) -> str:
        digest = weights_digest(model)
        if self.dist.world > 1:
            import torch.distributed as tdist

            digests: list[str | None] = [None] * self.dist.world
            tdist.all_gather_object(digests, digest)
            if len(set(digests)) != 1:
                raise ZooError(f"the ranks ended with different weights ({digests}): distributed training broke.")
            self.log.info("weights identical on all %d ranks: sha256 %s", self.dist.world, digest)
        return digest

    # Output -----------------------------------------------------------------------------------------------

    def _write_run(self, model, model_args, data, state, metrics, digest) -> None:
        from zoo.runs import run_config, write_json
        from zoo.weights import save

        info = self.info
        save(model, self.out / "model.safetensors")
        config = run_config(
            info.model,
            model_args,
            plugin=info.plugin,
            plugin_version=info.plugin_version,
            task=info.task,
            recipe=info.recipe,
            recipe_overrides=info.overrides,
            dataset={"name": info.dataset, "fingerprint": data.info.get("fingerprint")},
            seed=self.cfg.seed,
            settings=dataclasses.asdict(self.cfg),
            distributed={"world_size": self.dist.world, "weights_sha256": digest},
            **{k: v for k, v in data.info.items() if k not in ("fingerprint", "name")},
        )
        write_json(self.out / "config.json", config)
        write_json(self.out / "metrics.json", metrics)
        write_text(self.out / "metrics.jsonl", "".join(json.dumps(row) + "\n" for row in state["history"]))

    def _progress(self) -> Any:
        if self.quiet or not self.dist.main:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
            TextColumn("{task.fields[rate]:.0f} samples/s"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        progress.start()
        return progress


def eval_loader(
    dataset: Any, batch_size: int, collate: Any, indices: list[int] | None = None, **options: Any
) -> DataLoader:
    """Evaluation batches in a fixed order; a dataset with `lengths` is batched by length, with little padding."""
    indices = list(range(len(dataset))) if indices is None else indices
    lengths = getattr(dataset, "lengths", None)
    if lengths is not None:
        batches = sorted_batches(lengths, indices, batch_size)
        return DataLoader(dataset, batch_sampler=batches, collate_fn=collate, **options)
    return DataLoader(dataset, batch_size=batch_size, sampler=indices, collate_fn=collate, **options)


@torch.no_grad()
def evaluate_model(
    recipe: Recipe, model: torch.nn.Module, loader: DataLoader, autocast_dtype: Any = None, dist: Dist | None = None
) -> dict[str, float]:
    """The recipe's metrics over a loader: numerators and denominators summed over batches (and ranks)."""
    dist = dist or Dist()
    device = next(model.parameters()).device
    model.eval()
    sums: dict[str, list[float]] = {}
    autocast = (
        torch.autocast(device.type, dtype=autocast_dtype) if autocast_dtype is not None else contextlib.nullcontext()
    )
    for batch in loader:
        with autocast:
            for name, (num, den) in recipe.metrics(model, recipe.to_device(batch, device)).items():
                total = sums.setdefault(name, [0.0, 0.0])
                total[0] += float(num)
                total[1] += float(den)
    names = sorted(sums)
    if dist.world > 1:
        import torch.distributed as tdist

        tensor = torch.tensor(
            [sums[n] for n in names], dtype=torch.float64, device=device if device.type == "cuda" else "cpu"
        )
        tdist.all_reduce(tensor)
        sums = {n: tensor[i].tolist() for i, n in enumerate(names)}
    values = {n: sums[n][0] / sums[n][1] if sums[n][1] else float("nan") for n in names}
    return {k: round(float(v), 6) for k, v in recipe.finalize(values).items()}
