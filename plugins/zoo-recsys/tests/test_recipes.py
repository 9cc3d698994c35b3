"""mf-explicit and ncf-implicit on the MovieLens-100K bundled in RecBole's wheel, through the real CLI."""

import json

import numpy as np
import torch
from zoo_fixtures import assert_clean_error
from zoo_recsys.index import Index


def recipe(model, dataset, data_dir=None, **sets):
    """The real recipe object `zoo train` builds for these settings (on the CPU)."""
    from zoo.jobs.train import make_recipe, resolve, settings

    mspec, rspec, dspec = resolve(model, None, dataset)
    return make_recipe(rspec, mspec, dspec, settings(rspec, {"device": "cpu"}, sets), data_dir)


def test_mf_reaches_rmse_091_and_recommends_unseen_titled_items(run_zoo, tmp_path):
    out = tmp_path / "mf"
    proc = run_zoo("train", "mf", "--dataset", "movielens", "--device", "cpu", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["rmse"] <= 0.91 and metrics["mae"] < metrics["rmse"], metrics
    predicted = json.loads(run_zoo("predict", str(out), "--user", "196", "--top", "10", "--json").stdout)
    [row] = predicted
    items = [r["item"] for r in row["output"]]
    assert len(items) == 10 and all(r["title"] for r in row["output"])
    assert (out / "config.json").stat().st_size < 64 * 1024  # the id maps live in data/, not in config.json
    ids = Index.load(out / "data" / "index.safetensors")
    seen = {ids.items[v] for v in ids.seen(ids.users.index("196")).tolist()}
    assert not seen & set(items) and "242" in seen  # 196 rated Kolya (242): never recommended back
    unknown = json.loads(run_zoo("predict", str(out), "--user", "no-such-user", "--top", "3", "--json").stdout)
    assert all(r["popular"] for r in unknown[0]["output"]) and unknown[0]["output"][0]["title"] == "Star Wars"


def test_ncf_reports_hit_rate_and_ndcg(run_zoo, tmp_path):
    proc = run_zoo("train", "ncf", "--epochs", "2", "--device", "cpu", "--out", str(tmp_path / "ncf"), "--json")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)["metrics"]
    assert metrics["hr@10"] > 0.2 and 0 < metrics["ndcg@10"] < metrics["hr@10"]  # random ranking gives 0.1


def test_sparse_mf_trains_with_sparse_adam_and_beats_the_global_mean(run_zoo, tmp_path):
    mf = recipe("mf", "movielens", sparse="true")
    data = mf.build_data()
    model = mf.build_model(mf.model_args(data))
    optimizer, _ = mf.configure_optimizers(model, 1)
    embeddings = [model.user.weight, model.item.weight, model.user_bias.weight, model.item_bias.weight]
    assert type(optimizer) is torch.optim.SparseAdam
    assert {id(p) for group in optimizer.param_groups for p in group["params"]} == {id(p) for p in embeddings}
    mf.loss(model, [t[:512] for t in data.train.tensors]).backward()
    assert all(p.grad.is_sparse for p in embeddings)
    # The global-mean predictor on the same split, computed here: the model must beat it clearly.
    train, val = data.train.tensors[2].double().numpy(), data.val.tensors[2].double().numpy()
    baseline = float(np.sqrt(np.mean((val - train.mean()) ** 2)))
    out = tmp_path / "s"
    proc = run_zoo(
        "train", "mf", "--epochs", "2", "--set", "sparse=true", "--device", "cpu", "--out", str(out), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    rmse = json.loads(proc.stdout)["metrics"]["rmse"]
    assert baseline > 1.1 and rmse < baseline - 0.1, (rmse, baseline)


def _ratings_csv(path, users, items):
    """A ratings CSV with exactly `users` users and `items` items (one rating per row of the longer list)."""
    rows = (f"u{k % users},i{k % items},{1 + k % 5}\n" for k in range(max(users, items)))
    path.write_text("user,item,rating\n" + "".join(rows))
    return path


def test_sparse_auto_turns_sparse_from_50000_embedding_rows(tmp_path):
    chosen = {}
    for rows in (49_999, 50_000):
        mf = recipe("mf", "ratings-csv", _ratings_csv(tmp_path / f"{rows}.csv", 25_000, rows - 25_000), dim=2)
        data = mf.build_data()
        assert data.info["num_users"] + data.info["num_items"] == rows
        model = mf.build_model(mf.model_args(data))
        optimizer, _ = mf.configure_optimizers(model, 1)
        chosen[rows] = (type(optimizer), model.user.sparse)
    assert chosen == {49_999: (torch.optim.Adam, False), 50_000: (torch.optim.SparseAdam, True)}


def test_ncf_refuses_sparse_embeddings(run_zoo, tmp_path):
    proc = run_zoo("train", "ncf", "--set", "sparse=true", "--device", "cpu", "--out", str(tmp_path / "n"))
    stderr = assert_clean_error(proc, 2, "sparse", "false", "'true'")
    assert len(stderr.strip().splitlines()) == 1 and not (tmp_path / "n").exists(), stderr


def test_bad_data_through_the_cli(run_zoo, tmp_path):
    (tmp_path / "u.data").write_text("1\t2\t3\t100\n1\t7\n")
    assert_clean_error(run_zoo("train", "mf", "--data-dir", str(tmp_path)), 2, "u.data:2: expected at least 4")
    assert_clean_error(run_zoo("predict", str(tmp_path)), 2, "give at least one INPUT")


def test_the_id_index_is_published_pulled_verified_and_used(run_zoo, hub_server, olah, tmp_path):
    run = tmp_path / "mf"
    assert run_zoo("train", "mf", "--epochs", "1", "--out", str(run)).returncode == 0
    published = run_zoo(
        "publish", str(run), "recsys/mf-index", "--hub", hub_server.url, "--json", env={"HF_TOKEN": hub_server.token}
    )
    assert published.returncode == 0, published.stderr
    result = json.loads(published.stdout)
    assert "data/index.safetensors" in {f["path"] for f in result["files"]}
    assert '"data/index.safetensors" = "sha256:' in result["catalog_entry"]
    pulled = run_zoo("pull", "recsys/mf-index", "--json", env={"HF_ENDPOINT": olah})
    assert pulled.returncode == 0, pulled.stderr
    local = {f["path"]: f["sha256"] for f in json.loads(pulled.stdout)["files"]}
    remote = {f["path"]: f["sha256"] for f in result["files"]}
    assert local["data/index.safetensors"] == remote["data/index.safetensors"]
    from_run = json.loads(run_zoo("predict", str(run), "--user", "196", "--json").stdout)
    from_hub = run_zoo("predict", "recsys/mf-index", "--user", "196", "--json", env={"HF_ENDPOINT": olah})
    assert from_hub.returncode == 0, from_hub.stderr
    assert json.loads(from_hub.stdout) == from_run


def test_a_run_without_its_index_says_what_to_do(run_zoo, tmp_path):
    run = tmp_path / "mf"
    assert run_zoo("train", "mf", "--epochs", "1", "--out", str(run)).returncode == 0
    (run / "data" / "index.safetensors").write_bytes(b"not safetensors")
    assert_clean_error(run_zoo("predict", str(run), "--user", "196"), 2, "is not a zoo-recsys id index")
    (run / "data" / "index.safetensors").unlink()
    assert_clean_error(run_zoo("predict", str(run), "--user", "196"), 2, "has no data/index.safetensors")
