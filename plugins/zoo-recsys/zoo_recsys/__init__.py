"""zoo plugin `recsys`: biased matrix factorisation and NeuMF recommenders on user-item ratings."""

from __future__ import annotations

import zoo
from zoo.specs import ModelSpec

# Sized for MovieLens-100K by default; training sizes them to the dataset's users and items.
ML100K = {"num_users": 943, "num_items": 1682}


@zoo.hookimpl
def register_models(register) -> None:
    register(
        ModelSpec(
            name="mf",
            task="recommendation",
            factory="zoo_recsys.models:BiasedMF",
            kwargs={**ML100K, "dim": 64},
            description="Biased matrix factorisation: user/item embeddings and biases plus the global mean",
        )
    )
    register(
        ModelSpec(
            name="ncf",
            task="recommendation",
            factory="zoo_recsys.models:NeuMF",
            kwargs={**ML100K, "gmf_dim": 8, "mlp_layers": [64, 32, 16, 8]},
            description="NeuMF (He et al. 2017): GMF plus MLP towers fused by one output layer",
        )
    )
