"""`zoo search` against the test Hub server's GET /api/models, and against servers that answer anything at all."""

import json
import socket
from datetime import UTC, datetime

import pytest
from zoo_fixtures import assert_clean_error, write_run

import zoo
from zoo.core.errors import ZooError

T0 = 1_700_000_000
#: repo -> (model, accuracy, downloads, likes, commit time): each sort key orders them its own way, and none of
#: those orders is the server's listing order (by name), its reverse, or another key's reverse
CATALOG = {
    "finder/cnn-better": ("cnn", 0.97, 40, 1, T0 + 200),
    "finder/cnn-digits": ("cnn", 0.91, 500, 4, T0),
    "other/mf-ratings": ("mf", None, 5, 9, T0 + 100),
    "other/mf-tiny": ("mf", None, 120, 2, T0 + 300),
}
ORDERS = {
    "downloads": ["finder/cnn-digits", "other/mf-tiny", "finder/cnn-better", "other/mf-ratings"],
    "likes": ["other/mf-ratings", "finder/cnn-digits", "other/mf-tiny", "finder/cnn-better"],
    "updated": ["other/mf-tiny", "finder/cnn-better", "other/mf-ratings", "finder/cnn-digits"],
}
GOOD = {"id": "a/b", "downloads": 1, "likes": 2, "lastModified": "2024-01-01T00:00:00.000Z", "pipeline_tag": None}


@pytest.fixture(scope="module")
def catalog(hub_server, tmp_path_factory, monkeypatch_module):
    """Four zoo repos (two authors, two tasks, their downloads, likes and commit times) and one that zoo did not
    publish."""
    monkeypatch_module.setenv("HF_TOKEN", hub_server.token)
    root = tmp_path_factory.mktemp("search")
    for repo, (model, accuracy, downloads, likes, when) in CATALOG.items():
        metrics = {"accuracy": accuracy, "loss": 0.3} if accuracy else {"rmse": 0.9, "loss": 0.8}
        write_run(root / repo, model, metrics=metrics)
        with pytest.MonkeyPatch.context() as patch:  # the test server commits in this process, with git
            patch.setenv("GIT_COMMITTER_DATE", f"@{when} +0000")
            zoo.publish(root / repo, repo, hub=hub_server.url)
        hub_server.downloads[repo], hub_server.likes[repo] = downloads, likes
    hub_server.hub.create_repo("finder/not-zoo")
    hub_server.hub.commit("finder/not-zoo", {"README.md": b"---\nlibrary_name: timm\n---\n"}, "timm")
    return root


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture
def server(hub_server):
    """The test Hub server, its hostile settings undone after the test."""
    yield hub_server
    hub_server.search_reply = hub_server.page_size = None


def found(run_zoo, hub_server, *args) -> list[dict]:
    proc = run_zoo("search", *args, "--hub", hub_server.url, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def searches(hub_server, since: int) -> int:
    return hub_server.requests[since:].count("GET /api/models")


@pytest.mark.usefixtures("catalog")
def test_lists_zoo_repos_with_their_model_task_and_main_metric(run_zoo, hub_server):
    rows = {r["repo_id"]: r for r in found(run_zoo, hub_server, "--limit", "1000")}
    assert "finder/not-zoo" not in rows  # only repos whose card says library_name: zoo
    best = rows["finder/cnn-better"]
    assert best["model"] == "cnn" and best["task"] == "image-classification"
    assert best["metric"] == {"name": "accuracy", "value": 0.97}
    assert (best["downloads"], best["likes"]) == (40, 1)
    assert best["updated"] == datetime.fromtimestamp(T0 + 200, tz=UTC).isoformat()
    assert rows["other/mf-ratings"]["metric"] == {"name": "loss", "value": 0.8}  # no accuracy: the first metric


@pytest.mark.usefixtures("catalog")
def test_each_sort_key_orders_by_that_key(run_zoo, hub_server):
    for key, order in ORDERS.items():
        rows = found(run_zoo, hub_server, "--sort", key, "--limit", "1000")
        assert [r["repo_id"] for r in rows if r["repo_id"] in CATALOG] == order, key
    default = [r.repo_id for r in zoo.search(limit=1000, hub=hub_server.url) if r.repo_id in CATALOG]
    assert default == ORDERS["downloads"]


@pytest.mark.usefixtures("catalog")
def test_query_task_author_and_limit(run_zoo, hub_server):
    assert [r["repo_id"] for r in found(run_zoo, hub_server, "--author", "finder")] == [
        "finder/cnn-digits",
        "finder/cnn-better",
    ]
    assert [r["repo_id"] for r in found(run_zoo, hub_server, "digits", "--author", "finder")] == ["finder/cnn-digits"]
    tasks = {r["task"] for r in found(run_zoo, hub_server, "--task", "image-classification", "--limit", "1000")}
    assert tasks == {"image-classification"}
    assert len(found(run_zoo, hub_server, "--limit", "1")) == 1


@pytest.mark.usefixtures("catalog")
def test_pages_on_the_hubs_origin_are_followed_up_to_the_limit(server):
    server.page_size = 1
    start = len(server.requests)
    rows = zoo.search(author="finder", sort="likes", hub=server.url)
    assert [r.repo_id for r in rows] == ["finder/cnn-digits", "finder/cnn-better"]
    assert searches(server, start) == 2
    start = len(server.requests)
    assert [r.repo_id for r in zoo.search(author="other", sort="updated", limit=1, hub=server.url)] == ["other/mf-tiny"]
    assert searches(server, start) == 1  # the limit reached: the next page is not asked for


@pytest.mark.usefixtures("catalog")
def test_table_empty_result_and_errors(run_zoo, hub_server):
    table = run_zoo("search", "--author", "finder", "--hub", hub_server.url)
    assert table.returncode == 0 and "finder/cnn-better" in table.stdout and "accuracy 0.97" in table.stdout
    empty = run_zoo("search", "no-such-model-anywhere", "--hub", hub_server.url)
    assert empty.returncode == 0 and "No models published with zoo match 'no-such-model-anywhere'." in empty.stdout
    assert_clean_error(run_zoo("search", "--hub", "http://127.0.0.1:9"), 1, "cannot reach http://127.0.0.1:9")
    assert_clean_error(run_zoo("search", "--sort", "stars", "--hub", hub_server.url), 2, "--sort must be one of")


# Servers that answer anything ---------------------------------------------------------------------------------


def one_line(proc) -> str:
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    return proc.stderr


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b'{"models": []}', "application/json", "the document must be a list (each item a mapping), got a mapping"),
        (b"<html><body>Sign in</body></html>", "text/html", "is not JSON (text/html)"),
        (
            json.dumps([{**GOOD, "id": "evil/x\nevil/forged   cnn   -   accuracy 1   999,999"}]).encode(),
            "application/json",
            r"field '[0].id' must be a Hub repo id like 'org/name', got 'evil/x\nevil/forged",
        ),
    ],
    ids=["a mapping", "HTML with status 200", "an id that would forge a table row"],
)
def test_a_search_answer_that_is_no_list_of_models_is_one_line(run_zoo, server, body, content_type, words):
    server.search_reply = (200, body, {"Content-Type": content_type})
    proc = run_zoo("search", "--hub", server.url)
    assert_clean_error(proc, 1, f"the model search answer of {server.url}", words, "is a Hub (--hub")
    one_line(proc)


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ("zoo", "the document must be a list (each item a mapping), got 'zoo'"),
        (None, "the document must be a list (each item a mapping), got None"),
        ([{"downloads": 1}], "field '[0].id' is missing"),
        ([{**GOOD, "lastModified": 5}], "field '[0].lastModified' must be an ISO 8601 date and time"),
        ([{**GOOD, "lastModified": "yesterday"}], "field '[0].lastModified' must be an ISO 8601 date and time"),
        ([{**GOOD, "lastModified": "2024-01-01T00:00:00"}], "field '[0].lastModified' must be an ISO 8601"),
        ([{**GOOD, "downloads": "many"}], "field '[0].downloads' must be an integer >= 0, got 'many'"),
        ([{**GOOD, "downloads": True}], "field '[0].downloads' must be an integer >= 0, got True"),
        ([GOOD, {**GOOD, "likes": -3}], "field '[1].likes' must be an integer >= 0, got -3"),
        ([{**GOOD, "likes": 1.5}], "field '[0].likes' must be an integer >= 0, got 1.5"),
        ([{**GOOD, "pipeline_tag": ["image"]}], "field '[0].pipeline_tag' must be a string, got a list"),
        ([{**GOOD, "pipeline_tag": "image\rclassification"}], "field '[0].pipeline_tag' must be one line of text"),
        ([{**GOOD, "cardData": "zoo"}], "field '[0].cardData' must be a mapping, got 'zoo'"),
        ([{**GOOD, "id": "a/b\x1b[2J"}], r"field '[0].id' must be a Hub repo id like 'org/name', got 'a/b\x1b[2J'"),
    ],
)
def test_each_wrong_field_is_named(server, answer, words):
    server.search_reply = (200, json.dumps(answer).encode(), {})
    with pytest.raises(ZooError, match=r"^the model search answer of http") as error:
        zoo.search(hub=server.url)
    assert words in str(error.value) and type(error.value) is ZooError  # the server's fault: exit 1


def test_a_card_that_does_not_fit_loses_its_model_and_metric_not_the_search(server):
    card = {"zoo": {"model": "cnn\nforged", "metric": "accuracy"}}
    index = [{"results": [{"metrics": [{"type": "accuracy", "value": "high"}]}]}]
    answer = [{**GOOD, "cardData": card}, {**GOOD, "id": "a/c", "cardData": {"zoo": {}, "model-index": index}}]
    server.search_reply = (200, json.dumps(answer).encode(), {})
    with pytest.warns(UserWarning) as warned:
        rows = zoo.search(hub=server.url)
    shown = [(r.repo_id, r.model, r.metric, r.downloads) for r in rows]
    assert shown == [("a/b", None, None, 1), ("a/c", None, None, 1)]
    messages = [str(w.message) for w in warned]
    assert any("the model card of a/b" in m and "field 'zoo.model'" in m for m in messages), messages
    assert any("field 'model-index[0].results[0].metrics[0].value' must be a finite number" in m for m in messages), (
        messages
    )


def test_a_server_error_is_one_request_and_one_line(run_zoo, server):
    server.search_reply = (500, b'{"error": "boom"}', {})
    start = len(server.requests)
    proc = run_zoo("search", "--hub", server.url)
    assert_clean_error(proc, 1, f"{server.url} answered 500 for model search")
    one_line(proc)
    assert searches(server, start) == 1  # huggingface_hub's list_models asked 6 times over 25 s


def test_a_next_page_on_another_origin_never_gets_the_token(run_zoo, server):
    link = f'<{server.storage_url}/api/models?cursor=2>; rel="next"'
    server.search_reply = (200, json.dumps([GOOD]).encode(), {"Link": link})
    start = len(server.storage_requests)
    proc = run_zoo("search", "--hub", server.url, env={"HF_TOKEN": server.token})
    assert_clean_error(proc, 1, "linked the next page of model search to another origin", server.storage_url)
    one_line(proc)
    assert server.storage_requests[start:] == []  # neither the token nor any request went there


def test_a_hub_that_never_answers_times_out(run_zoo):
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        proc = run_zoo("search", "--hub", url, env={"HF_HUB_ETAG_TIMEOUT": "1"}, timeout=120)
    assert_clean_error(proc, 1, f"cannot reach {url}")
    one_line(proc)
