"""The training loop, split as torchtune splits a recipe: set up, load a checkpoint, train, save, finish.

Devices, precision and seeds live in zoo.engine.device, loaders in zoo.engine.loaders, the evaluation loop in
zoo.engine.evaluation, the loop's position in zoo.engine.state and the run folder's files in zoo.store.run_folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import signal
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from zoo.core.errors import UsageError, ZooError, warn
from zoo.engine.checkpoint import FORMAT, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from zoo.engine.device import Dist, autocast, choose_device, choose_precision, seed_everything
from zoo.engine.epoch_progress import EpochProgress
from zoo.engine.evaluation import evaluate_model
from zoo.engine.loaders import Loaders, make_loaders
from zoo.engine.loggers import Loggers
from zoo.engine.state import LoopState
from zoo.plugin.recipe import Data, Recipe
from zoo.plugin.specs import LoggerSpec
from zoo.store import layout, run_folder
from zoo.store.weights import tensors_digest


class TrainingInterrupted(ZooError):
    """Ctrl-C during training: a checkpoint was saved first."""

    exit_code = 130


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


@dataclass
class Training:
    """What one `fit()` works with once set up."""

    data: Data
    loaders: Loaders
    #: the model whose weights are saved; `train_model` wraps it (DDP, torch.compile) for the forward passes
    model: torch.nn.Module
    train_model: torch.nn.Module
    model_args: dict[str, Any]
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler
    ema: Any
    state: LoopState

    @property
    def eval_model(self) -> torch.nn.Module:
        """What is evaluated and saved: the EMA weights when the run keeps them."""
        return self.ema.module if self.ema is not None else self.model


def weights_digest(model: torch.nn.Module) -> str:
    return tensors_digest(model.state_dict())


class Trainer:
    """Trains one recipe into one run folder; construct, then call `fit()`."""

    # Settings that do not change the arithmetic may differ on resume; epochs may grow.
    RESUME_MAY_DIFFER = frozenset({"epochs", "device", "num_workers", "log_every", "checkpoint_every", "patience"})

    def __init__(
        self,
        recipe: Recipe,
        info: RunInfo,
        out: Path,
        *,
        resume: bool = False,
        quiet: bool = False,
        dist: Dist | None = None,
        loggers: Sequence[LoggerSpec] = (),
        expected_fingerprint: str | None = None,
        device: torch.device | None = None,
    ) -> None:
        self.recipe, self.cfg, self.info, self.out = recipe, recipe.config, info, Path(out)
        self.resume, self.quiet, self.dist = resume, quiet, dist or Dist()
        self.logger_specs, self.expected_fingerprint = list(loggers), expected_fingerprint
        self.loggers = Loggers(())
        self._meter = (0.0, 0)  # (time, global step) of the last step logged, for samples per second
        self.device = device if device is not None else choose_device(self.cfg.device, self.dist)
        self.autocast_dtype = choose_precision(self.cfg.precision, self.device)
        #: the samples one optimizer step consumes across the job
        self.samples_per_step = self.cfg.batch_size * self.cfg.grad_accum * self.dist.world
        self._stop_requested = False
        self.log = logging.getLogger(f"zoo.train.{id(self)}")
        self.log.propagate = False
        self.log.setLevel(logging.INFO)

    def fit(self) -> dict[str, Any]:
        """Train to the last epoch (or an early stop) and write the run folder; the `zoo train --json` summary."""
        run_folder.check_fresh(self.out, self.resume)
        ckpt = self.load_checkpoint() if self.resume else None  # refused before any data is read
        run = self.setup(ckpt)
        self.loggers = Loggers(self.logger_specs if self.dist.main else (), self.log)
        self.loggers.start(self.out, self._logged_config(run))
        started = time.perf_counter()
        status = "failed"
        try:
            show = not self.quiet and self.dist.main
            with self._sigint_stops(), EpochProgress(show, self.samples_per_step) as progress:
                self.train(run, progress)
            summary = self.finish(run, time.perf_counter() - started)
            status = "finished"
        except TrainingInterrupted:
            status = "interrupted"
            raise
        finally:
            self.loggers.finish(self.out, status)
        return summary

    def _logged_config(self, run: Training) -> dict[str, Any]:
        """What loggers get at the start: the job's names, seed, world size and every setting."""
        return {
            **self._identity(),
            "plugin": self.info.plugin,
            "seed": self.cfg.seed,
            "world_size": self.dist.world,
            "device": self.device.type,
            "resumed_at_step": run.state.global_step,
            "settings": self._settings(),
        }

    # Set-up -----------------------------------------------------------------------------------------------

    def load_checkpoint(self) -> dict[str, Any]:
        """The checkpoint to continue, refused when it belongs to another job or other settings."""
        ckpt = load_checkpoint(self.out / layout.CHECKPOINT)
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

    def setup(self, ckpt: dict[str, Any] | None) -> Training:
        """Seeds, data, loaders, model, optimizer, scaler, EMA and wrappers; restored from `ckpt` when resuming."""
        seed_everything(self.cfg.seed, self.cfg.deterministic, self.device)
        data = self.recipe.build_data()
        if ckpt is not None:
            self._check_same_data(ckpt.get("run") or {}, data)
        self._check_expected_data(data)
        loaders = make_loaders(data, self.cfg, self.dist, self.device)
        model_args = self.recipe.model_args(data)
        model = self.recipe.build_model(model_args).to(self.device)
        if self.recipe.convolutional and self.cfg.channels_last and self.device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        self._open_log()
        for message in data.info.get("warnings", []) if self.dist.main else []:
            self.log.info("warning: %s", message)
            warn(message)
        steps_per_epoch = max(1, math.ceil(len(loaders.train) / self.cfg.grad_accum))
        optimizer, scheduler = self.recipe.configure_optimizers(model, steps_per_epoch)
        run = Training(
            data=data,
            loaders=loaders,
            model=model,
            train_model=self._wrap(model),
            model_args=model_args,
            optimizer=optimizer,
            scheduler=scheduler,
            scaler=torch.amp.GradScaler(self.device.type, enabled=self.autocast_dtype == torch.float16),
            ema=self._ema(model),
            state=LoopState(),
        )
        if ckpt is not None:
            self._restore(run, ckpt)
        else:
            self.log.info("start %s: %s", self.info.recipe, json.dumps(dataclasses.asdict(self.cfg), default=str))
        return run

    def _ema(self, model: torch.nn.Module) -> Any:
        if not self.cfg.ema_decay:
            return None
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(self.cfg.ema_decay), use_buffers=True)

    def _wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The model as the forward passes see it: under DDP across ranks, compiled when asked."""
        wrapped = model
        if self.dist.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            wrapped = DistributedDataParallel(
                model,
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=self.recipe.find_unused_parameters,
            )
        return torch.compile(wrapped) if self.cfg.compile else wrapped

    def _restore(self, run: Training, ckpt: dict[str, Any]) -> None:
        try:
            run.model.load_state_dict(ckpt["model"])
        except RuntimeError as exc:
            raise UsageError(
                f"cannot resume from {self.out / layout.CHECKPOINT}: its weights do not fit this model "
                f"({str(exc).splitlines()[0]}). Start a new run with another --out."
            ) from None
        run.optimizer.load_state_dict(ckpt["optimizer"])
        if run.scheduler is not None and ckpt["scheduler"] is not None:
            run.scheduler.load_state_dict(ckpt["scheduler"])
        run.scaler.load_state_dict(ckpt["scaler"])
        if run.ema is not None and ckpt["ema"] is not None:
            run.ema.load_state_dict(ckpt["ema"])
        run.state = LoopState.from_checkpoint(ckpt)
        set_rng_state(ckpt["rng"])
        self.log.info("resumed from %s at epoch %d, batch %d", layout.CHECKPOINT, run.state.epoch + 1, run.state.batch)

    def _open_log(self) -> None:
        if self.dist.main:
            self.out.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(self.out / layout.LOG, encoding="utf-8", delay=True)
            handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
            self.log.addHandler(handler)
        else:
            self.log.addHandler(logging.NullHandler())

    # Training ---------------------------------------------------------------------------------------------

    def train(self, run: Training, progress: EpochProgress) -> None:
        """Epochs from the loop's position to the last, each evaluated and checkpointed; stops early on patience."""
        state = run.state
        while state.epoch < self.cfg.epochs:
            run.loaders.sampler.set_position(state.epoch, state.batch * self.cfg.batch_size)
            epoch_started = time.perf_counter()
            if state.batch == 0:
                state.epoch_first_step = state.global_step
            self.train_epoch(run, progress)
            train_seconds = time.perf_counter() - epoch_started
            train_loss = self._mean_train_loss(state)
            metrics = evaluate_model(self.recipe, run.eval_model, run.loaders.val, self.autocast_dtype, self.dist)
            self.log.info("epoch %d/%d: %s", state.epoch + 1, self.cfg.epochs, json.dumps(metrics))
            state.end_epoch(metrics, train_loss, train_seconds, time.perf_counter() - epoch_started)
            self.loggers.log_epoch(state.epoch, {k: v for k, v in state.history[-1].items() if k != "epoch"})
            self._track_best(run, metrics)
            self.save_checkpoint(run)
            if self.cfg.best_metric and state.patience_spent(self.cfg.patience):
                self.log.info("early stop: no better %s for %d epochs", self.cfg.best_metric, self.cfg.patience)
                break

    def train_epoch(self, run: Training, progress: EpochProgress) -> None:
        """The rest of the current epoch: forward, backward, an optimizer step every grad_accum batches."""
        cfg, recipe, state = self.cfg, self.recipe, run.state
        run.train_model.train()
        accum, pending = cfg.grad_accum, 0
        loss = None  # a run resumed at the very end of an epoch has no batch left in it
        total = len(run.loaders.train) + state.batch
        progress.start_epoch(f"epoch {state.epoch + 1}/{cfg.epochs}", total, state.batch, state.global_step)
        self._meter = (time.perf_counter(), state.global_step)
        # The epoch's loss is summed on the device, so that reading it waits for the device once per epoch.
        loss_total = torch.tensor(state.loss_sum, dtype=torch.float64, device=self.device)
        # The loader yields CPU tensors: the default to_device is work only for another device.
        move = self.device.type != "cpu" or type(recipe).to_device is not Recipe.to_device
        scale = run.scaler.scale if run.scaler.is_enabled() else None
        for batch in run.loaders.train:
            if move:
                batch = recipe.to_device(batch, self.device)
            recipe.global_step = state.global_step
            with autocast(self.device, self.autocast_dtype):
                loss = recipe.loss(run.train_model, batch)
            scaled = loss / accum if accum > 1 else loss
            (scale(scaled) if scale is not None else scaled).backward()
            loss_total += loss.detach()
            state.loss_count += 1
            pending += 1
            state.batch += 1
            if pending == accum:
                self._step(run)
                pending = 0
                if self.loggers and state.global_step % cfg.log_every == 0:
                    self._log_step(run, loss)
                checkpoint = cfg.checkpoint_every and state.global_step % cfg.checkpoint_every == 0
                if checkpoint or self._stop_requested:
                    state.loss_sum = loss_total.item()
                if checkpoint:
                    self.save_checkpoint(run)
                if self._stop_requested:
                    self.save_checkpoint(run)
                    raise TrainingInterrupted(
                        f"interrupted: checkpoint saved {state.where()}. "
                        f"Continue with: zoo train ... --out {self.out} --resume"
                    )
            if progress.enabled and state.batch % cfg.log_every == 0:
                progress.update(state.batch, state.global_step, loss)
        if pending:  # a last partial accumulation at the end of the epoch still updates the weights
            self._step(run)
        state.loss_sum = loss_total.item()
        progress.update(state.batch, state.global_step, loss, final=True)  # also for epochs under log_every

    def _log_step(self, run: Training, loss: torch.Tensor) -> None:
        """Send the loggers the loss, learning rate and samples per second since the last logged step."""
        now, step = time.perf_counter(), run.state.global_step
        last_time, last_step = self._meter
        samples = (step - last_step) * self.samples_per_step
        self._meter = (now, step)
        scalars = {"loss": loss.item(), "lr": float(run.optimizer.param_groups[0]["lr"])}
        if step > last_step:
            scalars["samples_per_second"] = samples / max(now - last_time, 1e-9)
        self.loggers.log_step(step, scalars)

    def _mean_train_loss(self, state: Any) -> float:
        """The epoch's mean training loss over its batches, across all ranks."""
        total, count = state.loss_sum, state.loss_count
        if self.dist.world > 1:
            import torch.distributed as tdist

            both = torch.tensor([total, count], dtype=torch.float64, device=self.device)
            tdist.all_reduce(both)
            total, count = both.tolist()
        return total / count if count else float("nan")

    def _step(self, run: Training) -> None:
        optimizer, scaler, model = run.optimizer, run.scaler, run.train_model
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
        if run.scheduler is not None:
            run.scheduler.step()
        if run.ema is not None:
            run.ema.update_parameters(run.model)
        run.state.global_step += 1

    def _track_best(self, run: Training, metrics: dict[str, float]) -> None:
        """Keep a copy of the weights when `best_metric` improves."""
        key = self.cfg.best_metric
        if not key:
            return
        if key.removeprefix("-") not in metrics:
            raise UsageError(f"best_metric {key!r} is not among the recipe's metrics: {', '.join(metrics)}")
        if run.state.improved(key, metrics):
            run.state.best_weights = {k: v.detach().clone().cpu() for k, v in run.eval_model.state_dict().items()}

    @contextlib.contextmanager
    def _sigint_stops(self) -> Iterator[None]:
        """Ctrl-C asks the loop to checkpoint and stop after the current step; a second one stops at once."""

        def on_sigint(_signum: int, _frame: Any) -> None:
            if self._stop_requested:
                raise KeyboardInterrupt
            self._stop_requested = True

        previous = signal.getsignal(signal.SIGINT)
        with contextlib.suppress(ValueError):  # only the main thread may set handlers
            signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGINT, previous)

    # Checkpoints ------------------------------------------------------------------------------------------

    def save_checkpoint(self, run: Training) -> None:
        """Everything needed to continue bit for bit (rank 0 writes it; the ranks hold the same state)."""
        if not self.dist.main:
            return
        save_checkpoint(
            self.out / layout.CHECKPOINT,
            {
                "model": run.model.state_dict(),
                "optimizer": run.optimizer.state_dict(),
                "scheduler": run.scheduler.state_dict() if run.scheduler is not None else None,
                "scaler": run.scaler.state_dict(),
                "ema": run.ema.state_dict() if run.ema is not None else None,
                "rng": rng_state(),
                "config": self._settings(),
                "format": FORMAT,
                "run": {**self._identity(), "fingerprint": run.data.info.get("fingerprint")},
                **run.state.to_checkpoint(),
            },
        )
        self.log.info("checkpoint saved %s (step %d)", run.state.where(), run.state.global_step)

    def _settings(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self.cfg), default=str))

    def _identity(self) -> dict[str, str]:
        return {"model": self.info.model, "recipe": self.info.recipe, "dataset": self.info.dataset}

    def _check_same_data(self, saved: dict[str, Any], data: Data) -> None:
        before, now = saved.get("fingerprint"), data.info.get("fingerprint")
        if before and now and before != now:
            raise UsageError(
                f"--resume: the data differs from what {self.out} was trained on (fingerprint {before[:19]}... "
                f"now {now[:19]}...). Resume with the same --data-dir, or start a new run with another --out."
            )

    def _check_expected_data(self, data: Data) -> None:
        """`zoo reproduce`: the local data must be the data the published run was trained on."""
        expected, now = self.expected_fingerprint, data.info.get("fingerprint")
        if expected and now != expected:
            raise UsageError(
                f"the local {self.info.dataset} data differs from the data the published run was trained on "
                f"(published fingerprint {expected}, local {now or 'none'}): point --data-dir at the same copy "
                "of the dataset."
            )

    def _check_same_settings(self, saved: dict[str, Any]) -> None:
        now = self._settings()
        free = self.recipe.RESUME_MAY_DIFFER  # the recipe's options that change how, never what, it trains
        saved, now = (
            {**s, "options": {k: v for k, v in s.get("options", {}).items() if k not in free}} for s in (saved, now)
        )
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

    # Finish -----------------------------------------------------------------------------------------------

    def finish(self, run: Training, seconds: float) -> dict[str, Any]:
        """The best (or last) weights into the run folder, once the ranks agree on them; the run's summary."""
        final_model = run.eval_model
        if run.state.best_weights is not None:
            final_model.load_state_dict(run.state.best_weights)
        metrics = run.state.final_metrics()
        digest = self._check_ranks_agree(final_model)
        if self.dist.main:
            run_folder.write_run(
                self.out, final_model, self._run_config(run, digest), metrics, run.state.history, run.data.files
            )
            self.log.info("done in %.1f s: %s", seconds, json.dumps(metrics))
        return {
            "run_dir": str(self.out),
            "model": self.info.model,
            "recipe": self.info.recipe,
            "dataset": self.info.dataset,
            "epochs": len(run.state.history),
            "metrics": metrics,
            "seconds": round(seconds, 3),
        }

    def _run_config(self, run: Training, digest: str) -> dict[str, Any]:
        info, data_info = self.info, run.data.info
        return run_folder.run_config(
            info.model,
            run.model_args,
            plugin=info.plugin,
            plugin_version=info.plugin_version,
            task=info.task,
            recipe=info.recipe,
            recipe_overrides=info.overrides,
            dataset={"name": info.dataset, "fingerprint": data_info.get("fingerprint")},
            seed=self.cfg.seed,
            settings=dataclasses.asdict(self.cfg),
            distributed={"world_size": self.dist.world, "weights_sha256": digest},
            device_kind=self.device.type,
            seconds=round(run.state.seconds, 3),
            finished=datetime.now(UTC).isoformat(timespec="seconds"),
            **{k: v for k, v in data_info.items() if k not in ("fingerprint", "name")},
        )

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
