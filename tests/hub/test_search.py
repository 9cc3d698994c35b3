"""`zoo search`: the real HfApi.list_models against the test Hub server's GET /api/models."""

import json

import pytest
from zoo_fixtures import assert_clean_error, write_run

import zoo


@pytest.fixture(scope="module")
def catalog(hub_server, tmp_path_factory, monkeypatch_module):
    """Three zoo repos (two authors, two tasks, their downloads and likes) and one repo zoo did not publish."""
    monkeypatch_module.setenv("HF_TOKEN", hub_server.token)
    root = tmp_path_factory.mktemp("search")
    for repo, model, accuracy, downloads, likes in (
        ("finder/cnn-digits", "cnn", 0.91, 50, 1),
        ("finder/cnn-better", "cnn", 0.97, 500, 3),
        ("other/mf-ratings", "mf", None, 5, 9),
    ):
        metrics = {"accuracy": accuracy, "loss": 0.3} if accuracy else {"rmse": 0.9, "loss": 0.8}
        write_run(root / repo, model, metrics=metrics)
        zoo.publish(root / repo, repo, hub=hub_server.url)
        hub_server.downloads[repo], hub_server.likes[repo] = downloads, likes
    hub_server.hub.create_repo("finder/not-zoo")
    hub_server.hub.commit("finder/not-zoo", {"README.md": b"---\nlibrary_name: timm\n---\n"}, "timm")
    return root


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def found(run_zoo, hub_server, *args) -> list[dict]:
    proc = run_zoo("search", *args, "--hub", hub_server.url, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.usefixtures("catalog")
def test_lists_zoo_repos_with_their_model_task_and_main_metric(run_zoo, hub_server):
    rows = {r["repo_id"]: r for r in found(run_zoo, hub_server, "--limit", "100")}
    assert "finder/not-zoo" not in rows  # only repos whose card says library_name: zoo
    best = rows["finder/cnn-better"]
    assert best["model"] == "cnn" and best["task"] == "image-classification"
    assert best["metric"] == {"name": "accuracy", "value": 0.97}
    assert (best["downloads"], best["likes"]) == (500, 3) and best["updated"].startswith("20")
    assert rows["other/mf-ratings"]["metric"] == {"name": "loss", "value": 0.8}  # no accuracy: the first metric


@pytest.mark.usefixtures("catalog")
def test_query_task_author_sort_and_limit(run_zoo, hub_server):
    ids = [r["repo_id"] for r in found(run_zoo, hub_server, "--author", "finder")]
    assert ids == ["finder/cnn-better", "finder/cnn-digits"]  # most downloads first
    by_likes = found(run_zoo, hub_server, "--author", "finder", "--sort", "likes")
    assert [r["likes"] for r in by_likes] == [3, 1]
    assert [r["repo_id"] for r in found(run_zoo, hub_server, "digits", "--author", "finder")] == ["finder/cnn-digits"]
    assert "finder/cnn-better" not in [r["repo_id"] for r in found(run_zoo, hub_server, "digits", "--limit", "100")]
    tasks = {r["task"] for r in found(run_zoo, hub_server, "--task", "image-classification", "--limit", "100")}
    assert tasks == {"image-classification"}
    assert len(found(run_zoo, hub_server, "--limit", "1")) == 1
    updated = [r["updated"] for r in found(run_zoo, hub_server, "--sort", "updated", "--limit", "100")]
    assert updated == sorted(updated, reverse=True)


@pytest.mark.usefixtures("catalog")
def test_table_empty_result_and_errors(run_zoo, hub_server):
    table = run_zoo("search", "--author", "finder", "--hub", hub_server.url)
    assert table.returncode == 0 and "finder/cnn-better" in table.stdout and "accuracy 0.97" in table.stdout
    empty = run_zoo("search", "no-such-model-anywhere", "--hub", hub_server.url)
    assert empty.returncode == 0 and "No models published with zoo match 'no-such-model-anywhere'." in empty.stdout
    assert_clean_error(run_zoo("search", "--hub", "http://127.0.0.1:9"), 1, "cannot reach http://127.0.0.1:9")
    assert_clean_error(run_zoo("search", "--sort", "stars", "--hub", hub_server.url), 2, "--sort must be one of")
