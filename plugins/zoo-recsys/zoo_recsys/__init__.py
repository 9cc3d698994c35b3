"""zoo plugin `recsys`: biased matrix factorisation and NeuMF recommenders on user-item ratings."""

from __future__ import annotations

from zoo.plugin import DatasetSpec, ModelSpec, RecipeSpec, hookimpl

# Sized for MovieLens-100K by default; training sizes them to the dataset's users and items.
ML100K = {"num_users": 943, "num_items": 1682}


@hookimpl
def register_models(register) -> None:
    register(
        ModelSpec(
            name="mf",
            task="recommendation",
            factory="zoo_recsys.models:BiasedMF",
            kwargs={**ML100K, "dim": 64},
            description="Biased matrix factorisation: user/item embeddings and biases plus the global mean",
            default_recipe="mf-explicit",
        )
    )
    register(
        ModelSpec(
            name="ncf",
            task="recommendation",
            factory="zoo_recsys.models:NeuMF",
            kwargs={**ML100K, "gmf_dim": 8, "mlp_layers": [64, 32, 16, 8]},
            description="NeuMF (He et al. 2017): GMF plus MLP towers fused by one output layer",
            default_recipe="ncf-implicit",
        )
    )


@hookimpl
def register_datasets(register) -> None:
    register(
        DatasetSpec(
            name="movielens",
            task="recommendation",
            factory="zoo_recsys.data:movielens",
            sample="zoo_recsys.samples:movielens",
            hub="zoo_recsys.hub:ratings",
            formats=("u.data", "ratings.dat", "ratings.csv", "recbole .inter", "parquet"),
            description="MovieLens: ml-100k, ml-1m, ml-latest(-small), RecBole's atomic files, or a Hub ratings repo",
        )
    )
    register(
        DatasetSpec(
            name="ratings-csv",
            task="recommendation",
            factory="zoo_recsys.data:ratings_csv",
            sample="zoo_recsys.samples:ratings_csv",
            hub="zoo_recsys.hub:ratings",
            formats=("csv", "tsv", "parquet"),
            description="Any CSV/TSV, or Hub dataset repo (hf://datasets/ORG/NAME), of user, item, rating[, timestamp]",
        )
    )


@hookimpl
def register_recipes(register) -> None:
    from zoo_recsys.recipe_defaults import MF_CPU, MF_GPU, MF_LIMITS, NCF_CPU, NCF_GPU, NCF_LIMITS

    register(
        RecipeSpec(
            name="mf-explicit",
            model="mf",
            dataset="movielens",
            task="recommendation",
            description="MSE on explicit ratings, early stopping on validation RMSE",
            cpu_defaults=MF_CPU,
            gpu_defaults=MF_GPU,
            metrics=("rmse", "mae"),
            factory="zoo_recsys.recipe:MFExplicit",
            limits=MF_LIMITS,
        )
    )
    register(
        RecipeSpec(
            name="ncf-implicit",
            model="ncf",
            dataset="movielens",
            task="recommendation",
            description="BCE with 4 sampled negatives; HR@10, NDCG@10 against 99 negatives, leave-one-out",
            cpu_defaults=NCF_CPU,
            gpu_defaults=NCF_GPU,
            metrics=("hr@10", "ndcg@10"),
            factory="zoo_recsys.recipe:NCFImplicit",
            limits=NCF_LIMITS,
        )
    )
