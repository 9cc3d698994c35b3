"""mf-explicit and ncf-implicit on the MovieLens-100K bundled in RecBole's wheel, through the real CLI."""

import json

from zoo_fixtures import assert_clean_error


def test_mf_reaches_rmse_091_and_recommends_unseen_titled_items(run_zoo, tmp_path):
    out = tmp_path / "mf"
    proc = run_zoo("train", "mf", "--dataset", "movielens", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["rmse"] <= 0.91 and metrics["mae"] < metrics["rmse"], metrics
    predicted = json.loads(run_zoo("predict", str(out), "--user", "196", "--top", "10", "--json").stdout)
    [row] = predicted
    items = [r["item"] for r in row["output"]]
    assert len(items) == 10 and all(r["title"] for r in row["output"])
    config = json.loads((out / "config.json").read_text())
    user = str(config["users"].index("196"))
    seen = {config["items"][v] for v in config["seen"][user]}
    assert not seen & set(items) and "242" in seen  # 196 rated Kolya (242): never recommended back
    unknown = json.loads(run_zoo("predict", str(out), "--user", "no-such-user", "--top", "3", "--json").stdout)
    assert all(r["popular"] for r in unknown[0]["output"]) and unknown[0]["output"][0]["title"] == "Star Wars"


def test_ncf_reports_hit_rate_and_ndcg(run_zoo, tmp_path):
    proc = run_zoo("train", "ncf", "--epochs", "2", "--out", str(tmp_path / "ncf"), "--json")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)["metrics"]
    assert metrics["hr@10"] > 0.2 and 0 < metrics["ndcg@10"] < metrics["hr@10"]  # random ranking gives 0.1


def test_sparse_embeddings_train(run_zoo, tmp_path):
    proc = run_zoo("train", "mf", "--epochs", "2", "--set", "sparse=true", "--out", str(tmp_path / "s"), "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["metrics"]["rmse"] < 1.2


def test_bad_data_through_the_cli(run_zoo, tmp_path):
    (tmp_path / "u.data").write_text("1\t2\t3\t100\n1\t7\n")
    assert_clean_error(run_zoo("train", "mf", "--data-dir", str(tmp_path)), 2, "u.data:2: expected at least 4")
    assert_clean_error(run_zoo("predict", str(tmp_path)), 2, "give at least one INPUT")
