"""The training and validation loaders of a run: resumable order, split across ranks, batched by length."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.utils.data import BatchSampler, DataLoader, TensorDataset

from zoo.core.errors import UsageError
from zoo.engine.device import Dist
from zoo.engine.evaluation import eval_loader
from zoo.engine.sampler import BucketBatchSampler, ResumableSampler, StreamSampler
from zoo.plugin.config import TrainConfig
from zoo.plugin.recipe import Data


@dataclass
class Loaders:
    train: DataLoader
    val: DataLoader
    #: positions the training order at (epoch, sample) for exact resume
    sampler: ResumableSampler | BucketBatchSampler


def make_loaders(data: Data, cfg: TrainConfig, dist: Dist, device: torch.device) -> Loaders:
    """This rank's loaders; the validation split defaults to the training one."""
    per_rank = math.ceil(len(data.train) / dist.world)
    if cfg.drop_last and cfg.batch_size > per_rank:
        raise UsageError(
            f"--batch-size {cfg.batch_size} is larger than the {per_rank} training samples per "
            "process, and drop_last is set: no batch would remain. Use a smaller batch."
        )
    workers = cfg.workers()
    common = {"num_workers": workers, "pin_memory": device.type == "cuda", "persistent_workers": workers > 0}
    val_set = data.val if data.val is not None else data.train
    val_indices = list(range(dist.rank, len(val_set), dist.world))
    # Each loader gets its own generator, so creating an iterator never draws from the global RNG.
    seeded = {"generator": torch.Generator().manual_seed(cfg.seed)}
    lengths = getattr(data.train, "lengths", None)
    if lengths is not None:  # variable-length samples (speech): batches of similar length, little padding
        batches = BucketBatchSampler(lengths, cfg.batch_size, cfg.seed, dist.rank, dist.world, cfg.drop_last)
        train = DataLoader(data.train, batch_sampler=batches, collate_fn=data.collate, **common, **seeded)
        return Loaders(train, eval_loader(val_set, cfg.batch_size, data.collate, val_indices, **common), batches)
    groups = getattr(data.train, "row_groups", None)
    if groups is not None:  # streamed from files (zoo.plugin.ParquetRows): row groups, then rows within a buffer
        sampler: ResumableSampler = StreamSampler(groups, cfg.seed, dist.rank, dist.world, cfg.drop_last)
    else:
        sampler = ResumableSampler(len(data.train), cfg.seed, True, dist.rank, dist.world, cfg.drop_last)
    if data.collate is None and isinstance(data.train, TensorDataset) and isinstance(val_set, TensorDataset):
        # In-memory tensors: index a whole batch at once instead of collating it sample by sample.
        # Same batches in the same order, so results and resume are unchanged.
        batches = BatchSampler(sampler, cfg.batch_size, cfg.drop_last)
        train = DataLoader(data.train, batch_size=None, **common, **seeded, sampler=batches)
        val = DataLoader(
            val_set, batch_size=None, **common, **seeded, sampler=BatchSampler(val_indices, cfg.batch_size, False)
        )
        return Loaders(train, val, sampler)
    train = DataLoader(
        data.train,
        batch_size=cfg.batch_size,
        sampler=sampler,
        drop_last=cfg.drop_last,
        collate_fn=data.collate,
        **common,
        **seeded,
    )
    return Loaders(train, eval_loader(val_set, cfg.batch_size, data.collate, val_indices, **common, **seeded), sampler)
