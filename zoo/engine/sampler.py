"""Data order as a pure function of (seed, epoch): resumable at any batch, split evenly across ranks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

import torch
from torch.utils.data import Sampler

T = TypeVar("T")


def for_rank(items: list[T], rank: int, world: int, drop_last: bool) -> list[T]:
    """Rank r's share, every world-th item. The list is cut to a multiple of world (drop_last), or padded by
    repeating its start, as DistributedSampler does, so every rank gets as many."""
    return _even(items, world, drop_last)[rank::world]


def _even(items: list[T], world: int, drop_last: bool) -> list[T]:
    """`items` cut to a multiple of `world` (drop_last), or padded by repeating its start."""
    return items[: len(items) - len(items) % world] if drop_last else items + items[: (-len(items)) % world]


class ResumableSampler(Sampler[int]):
    """A seeded permutation per epoch; rank r takes every world-th index; `start` skips already-seen ones."""

    def __init__(
        self, size: int, seed: int, shuffle: bool = True, rank: int = 0, world: int = 1, drop_last: bool = False
    ) -> None:
        self.size, self.seed, self.shuffle = size, seed, shuffle
        self.rank, self.world, self.drop_last = rank, world, drop_last
        self.epoch, self.start = 0, 0

    def set_position(self, epoch: int, start: int = 0) -> None:
        """Iterate epoch `epoch`, skipping this rank's first `start` samples."""
        self.epoch, self.start = epoch, start

    def _indices(self) -> list[int]:
        if self.shuffle:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.randperm(self.size, generator=generator).tolist()
        else:
            order = list(range(self.size))
        return for_rank(order, self.rank, self.world, self.drop_last)

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices()[self.start :])

    def __len__(self) -> int:
        return len(self._indices()) - self.start


def for_rank_block(items: list[T], rank: int, world: int, drop_last: bool) -> list[T]:
    """Rank r's share as one contiguous block, cut or padded as `for_rank` does: a streamed set's ranks then read
    different row groups."""
    kept = _even(items, world, drop_last)
    share = len(kept) // world
    return kept[rank * share : (rank + 1) * share]


class StreamSampler(ResumableSampler):
    """The order of a streamed set (row groups of parquet files), as streaming readers shuffle: each epoch the row
    groups in a seeded order, then rows shuffled within a buffer of `buffer` consecutive groups; rank r takes a
    contiguous block. A pure function of (seed, epoch), so resume replays it exactly."""

    def __init__(
        self, groups: list[int], seed: int, rank: int = 0, world: int = 1, drop_last: bool = False, buffer: int = 4
    ) -> None:
        super().__init__(sum(groups), seed, True, rank, world, drop_last)
        self.groups, self.buffer = list(groups), buffer
        self._order: tuple[int, list[int]] | None = None  # (epoch, this rank's order): len() asks for it too

    def _indices(self) -> list[int]:
        if self._order is None or self._order[0] != self.epoch:
            self._order = (self.epoch, self._shuffled())
        return self._order[1]

    def _shuffled(self) -> list[int]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        starts = [0]
        for size in self.groups:
            starts.append(starts[-1] + size)
        shuffled = torch.randperm(len(self.groups), generator=generator).tolist()
        order: list[int] = []
        for i in range(0, len(shuffled), self.buffer):
            rows = torch.cat([torch.arange(starts[g], starts[g + 1]) for g in shuffled[i : i + self.buffer]])
            order += rows[torch.randperm(len(rows), generator=generator)].tolist()
        return for_rank_block(order, self.rank, self.world, self.drop_last)


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of similar lengths, so little of each batch is padding; resumable like ResumableSampler.

    Each epoch: a seeded permutation, cut into pools of `pool` batches; each pool sorted by length and cut into
    batches; the batches shuffled. Rank r takes every world-th batch (the list is padded to a multiple of world).
    """

    def __init__(
        self,
        lengths: list[int],
        batch_size: int,
        seed: int,
        rank: int = 0,
        world: int = 1,
        drop_last: bool = False,
        pool: int = 50,
    ) -> None:
        self.lengths, self.batch_size, self.seed = list(lengths), batch_size, seed
        self.rank, self.world, self.drop_last, self.pool = rank, world, drop_last, pool
        self.epoch, self.start = 0, 0

    def set_position(self, epoch: int, start: int = 0) -> None:
        """Iterate epoch `epoch`, skipping this rank's first `start` samples (whole batches of batch_size)."""
        self.epoch, self.start = epoch, start // self.batch_size

    def _batches(self) -> list[list[int]]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(len(self.lengths), generator=generator).tolist()
        size, span = self.batch_size, self.batch_size * self.pool
        batches = []
        for i in range(0, len(order), span):
            pool = sorted(order[i : i + span], key=self.lengths.__getitem__)
            batches += [pool[j : j + size] for j in range(0, len(pool), size)]
        if self.drop_last:
            batches = [b for b in batches if len(b) == size]
        shuffled = torch.randperm(len(batches), generator=generator).tolist()
        return for_rank([batches[i] for i in shuffled], self.rank, self.world, self.drop_last)

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._batches()[self.start :])

    def __len__(self) -> int:
        return len(self._batches()) - self.start


def sorted_batches(lengths: list[int], indices: list[int], batch_size: int) -> list[list[int]]:
    """Evaluation batches: `indices` sorted by length, then cut, so padding is minimal and the order fixed."""
    ordered = sorted(indices, key=lengths.__getitem__)
    return [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]
