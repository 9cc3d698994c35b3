"""Recommender architectures: biased matrix factorisation and NeuMF (GMF + MLP)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import nn


def _check_sizes(**sizes: int) -> None:
    for name, value in sizes.items():
        if value < 1:
            raise ValueError(f"{name} must be positive, got {value}")


class BiasedMF(nn.Module):
    """rating(u, i) = mean + b_u + b_i + <p_u, q_i>."""

    def __init__(
        self, num_users: int, num_items: int, dim: int = 64, global_mean: float = 0.0, sparse: bool = False
    ) -> None:
        super().__init__()
        _check_sizes(num_users=num_users, num_items=num_items, dim=dim)
        self.user = nn.Embedding(num_users, dim, sparse=sparse)
        self.item = nn.Embedding(num_items, dim, sparse=sparse)
        self.user_bias = nn.Embedding(num_users, 1, sparse=sparse)
        self.item_bias = nn.Embedding(num_items, 1, sparse=sparse)
        self.global_bias = nn.Parameter(torch.tensor(float(global_mean)))
        nn.init.normal_(self.user.weight, std=0.01)
        nn.init.normal_(self.item.weight, std=0.01)
        nn.init.zeros_(self.user_bias.weight)
        nn.init.zeros_(self.item_bias.weight)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        dot = (self.user(users) * self.item(items)).sum(-1)
        return dot + self.user_bias(users).squeeze(-1) + self.item_bias(items).squeeze(-1) + self.global_bias


class NeuMF(nn.Module):
    """He et al. 2017: a GMF tower and an MLP tower on separate embeddings, concatenated into one logit."""

    def __init__(
        self,
        num_users: int,
        num_items: int,
        gmf_dim: int = 8,
        mlp_layers: Sequence[int] = (64, 32, 16, 8),
        dropout: float = 0.0,
        sparse: bool = False,
    ) -> None:
        super().__init__()
        _check_sizes(num_users=num_users, num_items=num_items, gmf_dim=gmf_dim)
        if len(mlp_layers) < 1 or mlp_layers[0] % 2:
            raise ValueError(f"mlp_layers must start with an even width, got {list(mlp_layers)}")
        self.gmf_user = nn.Embedding(num_users, gmf_dim, sparse=sparse)
        self.gmf_item = nn.Embedding(num_items, gmf_dim, sparse=sparse)
        self.mlp_user = nn.Embedding(num_users, mlp_layers[0] // 2, sparse=sparse)
        self.mlp_item = nn.Embedding(num_items, mlp_layers[0] // 2, sparse=sparse)
        layers: list[nn.Module] = []
        for width_in, width_out in itertools.pairwise(mlp_layers):
            layers += [nn.Linear(width_in, width_out), nn.ReLU(), nn.Dropout(dropout)]
        self.mlp = nn.Sequential(*layers)
        self.output = nn.Linear(gmf_dim + mlp_layers[-1], 1)
        for embedding in (self.gmf_user, self.gmf_item, self.mlp_user, self.mlp_item):
            nn.init.normal_(embedding.weight, std=0.01)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        gmf = self.gmf_user(users) * self.gmf_item(items)
        mlp = self.mlp(torch.cat([self.mlp_user(users), self.mlp_item(items)], dim=-1))
        return self.output(torch.cat([gmf, mlp], dim=-1)).squeeze(-1)
