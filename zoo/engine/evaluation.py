"""The evaluation loop: a recipe's metrics over a dataset, summed over batches and ranks."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import DataLoader

from zoo.engine.device import Dist, autocast
from zoo.engine.sampler import sorted_batches
from zoo.plugin.recipe import Recipe


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
    recipe: Recipe,
    model: torch.nn.Module,
    loader: DataLoader,
    autocast_dtype: torch.dtype | None = None,
    dist: Dist | None = None,
) -> dict[str, float]:
    """The recipe's metrics over a loader: numerators and denominators summed over batches (and ranks)."""
    dist = dist or Dist()
    device = next(model.parameters()).device
    model.eval()
    sums: dict[str, list[float]] = {}
    for batch in loader:
        with autocast(device, autocast_dtype):
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
