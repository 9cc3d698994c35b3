"""Recipes `mf-explicit` (MSE on ratings: RMSE, MAE) and `ncf-implicit` (BCE with sampled negatives: HR@10,
NDCG@10 with 99 negatives per user, leave-one-out), and top-N recommendations for raw user ids."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from zoo.plugin import Agreement, Axis, Data, ExampleInputs, Recipe, UsageError, device_of, first_output
from zoo_recsys.index import NAME as INDEX
from zoo_recsys.index import Index


def mlp_layers(text: str) -> list[int]:
    """ "64,32,16,8" -> [64, 32, 16, 8]: the MLP tower's widths, each in 1..65536."""
    try:
        layers = [int(x) for x in str(text).split(",")]
    except ValueError:
        layers = []
    if not layers or not all(1 <= n <= 65536 for n in layers):
        raise UsageError(f"mlp_layers must be comma-separated widths in 1..65536 such as 64,32,16,8, got '{text}'")
    return layers


# From this many user and item embedding rows, `sparse=auto` trains them with sparse gradients and SparseAdam: a
# dense Adam step touches every row of every table, a sparse one only the batch's (bench/recsys_scale.py).
SPARSE_ROWS = 50_000


class RecommenderRecipe(Recipe):
    split = "random"
    sparse_embeddings = False

    @classmethod
    def check_settings(cls, config: Any) -> None:
        o = config.options
        if not o["rating_min"] < o["rating_max"]:
            raise UsageError(f"rating_min ({o['rating_min']}) must be below rating_max ({o['rating_max']})")

    def build_data(self) -> Data:
        o = self.options
        data = self.dataset_spec.build(
            data_dir=self.data_dir,
            split=self.split,
            val_split=o["val_split"],
            seed=self.config.seed,
            rating_min=o["rating_min"],
            rating_max=o["rating_max"],
            columns=o["columns"],
        )
        #: sparse embedding gradients (SparseAdam): as set, or with `auto` from SPARSE_ROWS embedding rows up
        option = str(self.options["sparse"]).lower()
        rows = data.info["num_users"] + data.info["num_items"]
        self.sparse_embeddings = rows >= SPARSE_ROWS if option == "auto" else option == "true"
        if self.run_folder is not None:  # evaluating a run: its ids must be the data's, or the metrics mean nothing
            self._check_data(data)
        return data

    def _check_data(self, data: Data) -> None:
        ids, writer = self.id_index(), data.files.get(INDEX)
        self.check_model_args((self.run_config or {}).get("model_args") or {})
        if getattr(writer, "user_ids", None) != ids.users or getattr(writer, "item_ids", None) != ids.items:
            raise UsageError(
                f"{self.data_dir or 'the data'}: its users and items are not those of {self._index_path()}: "
                "evaluate the run on the data it was trained on"
            )

    def make_optimizer(self, params: Any) -> Any:
        if self.sparse_embeddings:
            return torch.optim.SparseAdam(list(params), lr=self.config.lr)
        return super().make_optimizer(params)

    def scores(self, model: Any, user: int, items: int) -> torch.Tensor:
        device = device_of(model)
        return first_output(
            model(torch.full((items,), user, device=device), torch.arange(items, device=device))
        ).float()

    def _index_path(self) -> Path:
        return Path(self.run_folder or ".") / "data" / INDEX

    def id_index(self) -> Index:
        """The run's id index (data/index.safetensors), read and checked by its schema once."""
        if getattr(self, "_index", None) is None:
            path = self._index_path()
            if not path.is_file():
                raise UsageError(
                    f"{path.parent.parent} has no data/{INDEX}, the id index that maps raw user and item ids: "
                    "retrain the run (or pull the whole repository)"
                )
            from safetensors import SafetensorError

            try:
                self._index = Index.load(path)
            except (SafetensorError, OSError, ValueError) as exc:
                raise UsageError(f"{path} is not a zoo-recsys id index ({exc}): retrain the run") from None
        return self._index

    def check_model_args(self, args: dict[str, Any]) -> None:
        """The model's users and items must be the index's: a model sized otherwise belongs to another run."""
        ids = self.id_index()
        if (args.get("num_users"), args.get("num_items")) != (len(ids.users), len(ids.items)):
            raise UsageError(
                f"{self._index_path()} holds {len(ids.users)} users and {len(ids.items)} items, but the model_args "
                f"say {args.get('num_users')!s:.20} and {args.get('num_items')!s:.20}: the index belongs to another "
                "run. Retrain it."
            )

    def inference_model(self, args: dict[str, Any]) -> Any:
        """The model sized as the run's index says, checked before anything is allocated (when the run is known)."""
        if self.run_folder is not None:
            self.check_model_args(args)
        return super().inference_model(args)

    def decode(self, source: str, run_config: dict[str, Any]) -> str:  # noqa: ARG002
        """A raw user id this model knows; an unknown one is refused (`predict` answers it with popular items)."""
        ids = self.id_index()
        if source not in ids.user_index:
            raise UsageError(
                f"unknown user id {source!r:.40}: this model knows {len(ids.users)} users "
                f"(e.g. {', '.join(ids.users[:3])})"
            )
        return source

    def predict(self, model: Any, inputs: list[str], top: int, run_config: dict[str, Any]) -> list[Any]:
        """As predict_batch, where an unknown user gets the most popular items instead of a refusal."""
        return self.predict_batch(model, list(inputs), top, run_config)

    def predict_batch(self, model: Any, samples: list[Any], top: int, run_config: dict[str, Any]) -> list[Any]:
        """Top-N unseen items for each raw user id; an unknown user gets the most popular items, marked so. Every
        row has item, score (None for a popular item: the model has no score for an unknown user), title and
        popular."""
        ids = self.id_index()
        self.check_model_args(run_config.get("model_args") or {})
        known = ids.user_index
        return [self._top(model, ids, raw, top) if raw in known else self._popular(ids, top) for raw in samples]

    # Export -------------------------------------------------------------------------------------------------

    def example_inputs(self, batch_size: int) -> ExampleInputs:
        """`batch_size` users of the run's id index, each paired with every item: the pairs top-N is made of."""
        ids = self.id_index()
        users, items = len(ids.users), len(ids.items)
        chosen = torch.linspace(0, users - 1, batch_size).round().long()
        pairs = Axis("batch", min=1, max=1 << 30)
        return ExampleInputs(
            (chosen.repeat_interleave(items), torch.arange(items).repeat(batch_size)),
            ("users", "items"),
            ({0: pairs}, {0: pairs}),
            f"{batch_size} users of the run's id index, with each of its {items} items",
            extra={"users": chosen.tolist(), "items": items},
        )

    def agreement(self, eager: Any, exported: Any, inputs: ExampleInputs) -> Agreement:
        """Identical top-10 items (in order, seen items excluded) for each user of the batch."""
        ids = self.id_index()
        count = len(inputs.extra["users"])
        same = 0
        for user, a, b in zip(inputs.extra["users"], eager.view(count, -1), exported.view(count, -1), strict=True):
            seen = torch.from_numpy(ids.seen(user).astype(np.int64))
            a, b = (
                a.float().clone().index_fill_(0, seen, float("-inf")),
                b.float().clone().index_fill_(0, seen, float("-inf")),
            )
            k = min(10, len(a))
            same += a.topk(k).indices.tolist() == b.topk(k).indices.tolist()
        return Agreement("top-10 items", same, count)

    @staticmethod
    def _popular(ids: Index, top: int) -> list[dict[str, Any]]:
        note = "unknown user: the most popular items"
        return [
            {"item": ids.items[v], "score": None, "title": ids.title(v), "popular": True, "note": note}
            for v in ids.popular[:top].tolist()
        ]

    def _top(self, model: Any, ids: Index, raw: str, top: int) -> list[dict[str, Any]]:
        u = ids.user_index[raw]
        scores = self.scores(model, u, len(ids.items))
        scores[torch.from_numpy(ids.seen(u).astype(np.int64))] = float("-inf")  # already rated
        best = scores.topk(min(top, len(ids.items)))
        return [
            {"item": ids.items[v], "score": round(float(s), 4), "title": ids.title(v), "popular": False}
            for s, v in zip(best.values.tolist(), best.indices.tolist(), strict=True)
            if s != float("-inf")
        ]


class MFExplicit(RecommenderRecipe):
    def model_args(self, data: Data) -> dict[str, Any]:
        return {
            "num_users": data.info["num_users"],
            "num_items": data.info["num_items"],
            "dim": self.options["dim"],
            "global_mean": data.info["global_mean"],
            "sparse": self.sparse_embeddings,
        }

    def build_model(self, args: dict[str, Any]) -> Any:
        model = self.model_spec.build(**args)
        if args.get("sparse"):  # SparseAdam takes only sparse gradients: the global mean stays fixed
            model.global_bias.requires_grad_(False)
        return model

    def loss(self, model: Any, batch: Any) -> Any:
        users, items, ratings = batch
        mse = F.mse_loss(model(users, items), ratings)
        reg = self.options["reg"]
        if not reg:
            return mse
        penalty = (model.user(users).pow(2).sum(1) + model.item(items).pow(2).sum(1)).mean()
        return mse + reg * penalty

    def metrics(self, model: Any, batch: Any) -> dict[str, tuple[float, float]]:
        users, items, ratings = batch
        low, high = self.options["rating_min"], self.options["rating_max"]
        error = model(users, items).clamp(low, high) - ratings
        n = len(ratings)
        return {"mse": (error.pow(2).sum().item(), n), "mae": (error.abs().sum().item(), n)}

    def finalize(self, values: dict[str, float]) -> dict[str, float]:
        return {"rmse": math.sqrt(values.pop("mse")), **values}


class NCFImplicit(RecommenderRecipe):
    split = "leave-one-out"

    @classmethod
    def check_settings(cls, config: Any) -> None:
        super().check_settings(config)
        mlp_layers(config.options["mlp_layers"])

    def model_args(self, data: Data) -> dict[str, Any]:
        layers = mlp_layers(self.options["mlp_layers"])
        return {
            "num_users": data.info["num_users"],
            "num_items": data.info["num_items"],
            "gmf_dim": self.options["gmf_dim"],
            "mlp_layers": layers,
            "sparse": self.sparse_embeddings,
        }

    def build_data(self) -> Data:
        data = super().build_data()
        self.num_items = data.info["num_items"]
        return data

    def loss(self, model: Any, batch: Any) -> Any:
        users, items, _ = batch
        k = self.options["negatives"]
        if k < 1:
            raise UsageError(f"negatives must be at least 1, got {k}")
        # Uniformly sampled negatives (a rare draw of a seen item is tolerated, as in the NCF paper's code).
        negatives = torch.randint(self.num_items, (len(users) * k,), device=users.device, dtype=items.dtype)
        all_users = torch.cat([users, users.repeat_interleave(k)])
        all_items = torch.cat([items, negatives])
        labels = torch.cat([torch.ones(len(users)), torch.zeros(len(negatives))]).to(users.device)
        return F.binary_cross_entropy_with_logits(model(all_users, all_items), labels)

    def metrics(self, model: Any, batch: Any) -> dict[str, tuple[float, float]]:
        users, candidates = batch  # candidates[:, 0] is the held-out item, then 99 negatives
        n, c = candidates.shape
        scores = model(users.repeat_interleave(c), candidates.reshape(-1)).view(n, c).float()
        rank = (scores[:, 1:] > scores[:, :1]).sum(1)  # how many negatives beat the held-out item
        hit = rank < 10
        ndcg = torch.where(hit, 1 / torch.log2(rank.float() + 2), torch.zeros_like(rank, dtype=torch.float))
        return {"hr@10": (hit.sum().item(), n), "ndcg@10": (ndcg.sum().item(), n)}
