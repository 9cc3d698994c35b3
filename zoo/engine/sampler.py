"""Data order as a pure function of (seed, epoch): resumable at any batch, split evenly across ranks."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


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
        if self.drop_last:
            order = order[: len(order) - len(order) % self.world]
        else:  # pad by repeating, as DistributedSampler does, so every rank gets as many samples
            order += order[: (-len(order)) % self.world]
        return order[self.rank :: self.world]

    def __iter__(self) -> Iterator[int]:
        return iter(self._indices()[self.start :])

    def __len__(self) -> int:
        return len(self._indices()) - self.start
