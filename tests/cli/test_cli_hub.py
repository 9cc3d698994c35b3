"""`zoo pull`, `zoo publish` and `zoo pin` as a user runs them: real CLI, real client, real HTTP servers."""

import json
import re

import pytest
import torch
from zoo_fixtures import assert_clean_error

import zoo

SHA = re.compile(r"^[0-9a-f]{40}$")


@pytest.fixture
def published(run_zoo, hub_server, make_run):
    """Publish a cnn run through the CLI once per test; returns (repo_id, publish JSON, run folder)."""

    def publish(repo_id: str, seed: int = 0, *extra: str):
        run, _ = make_run("cnn", seed=seed)
        proc = run_zoo(
            "publish", str(run), repo_id, "--hub", hub_server.url, "--json", *extra, env={"HF_TOKEN": hub_server.token}
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout), run

    return publish


def test_publish_then_pull_json(run_zoo, published, olah):
    result, _ = published("cli/cnn-digits")
    assert {"repo_id", "revision", "commit_url", "files", "catalog_entry"} <= set(result)
    assert SHA.match(result["revision"])
    assert '[weights."cnn.digits"]' in result["catalog_entry"] and result["revision"] in result["catalog_entry"]
    pulled = run_zoo("pull", "cli/cnn-digits", "--json", env={"HF_ENDPOINT": olah})  # the user's HF setup
    assert pulled.returncode == 0, pulled.stderr
    data = json.loads(pulled.stdout)
    assert set(data) == {"name", "repo_id", "revision", "path", "files"}
    assert data["revision"] == result["revision"]
    assert {f["path"]: f["sha256"] for f in data["files"]} == {f["path"]: f["sha256"] for f in result["files"]}
    human = run_zoo("pull", "cli/cnn-digits@main", "--hub", olah)
    assert result["revision"] in human.stdout and data["path"] in human.stdout


def test_publish_dry_run_and_register(run_zoo, make_run, hub_server, tmp_path):
    run, _ = make_run("cnn", seed=1)
    dry = run_zoo("publish", str(run), "cli/dry", "--hub", hub_server.url, "--dry-run")
    assert dry.returncode == 0 and "Dry run" in dry.stdout and "model.safetensors" in dry.stdout
    assert not hub_server.hub.exists("cli/dry")
    registry = tmp_path / "registry.toml"
    done = run_zoo(
        "publish",
        str(run),
        "cli/registered",
        "--hub",
        hub_server.url,
        "--register",
        str(registry),
        "--name",
        "cnn.team",
        env={"HF_TOKEN": hub_server.token},
    )
    assert done.returncode == 0, done.stderr
    assert "Registered cnn.team" in done.stdout
    info = json.loads(run_zoo("info", "cnn.team", "--json", env={"ZOO_REGISTRY": str(registry)}).stdout)
    assert info["weights"][0]["name"] == "cnn.team" and info["weights"][0]["pinned"] is True


def test_publish_errors_never_show_the_token(run_zoo, make_run, hub_server):
    run, _ = make_run("cnn", seed=2)
    secret = "hf_wrong_secret_123456"
    wrong = run_zoo("publish", str(run), "cli/denied", "--hub", hub_server.url, env={"HF_TOKEN": secret})
    assert_clean_error(wrong, 1, "refused the request (401)", "HF_TOKEN")
    assert secret not in wrong.stderr + wrong.stdout
    missing = run_zoo("publish", str(run), "cli/denied", "--hub", hub_server.url)
    assert_clean_error(missing, 1, "refused the request (401)")
    (run / "config.json").unlink()
    assert_clean_error(run_zoo("publish", str(run), "cli/denied", "--hub", hub_server.url), 2, "lacks config.json")
    assert_clean_error(run_zoo("publish", str(run), "not a repo", "--hub", hub_server.url), 2)
    assert not hub_server.hub.exists("cli/denied")


@pytest.mark.usefixtures("olah")
def test_pull_errors(run_zoo, published, hub_server):
    published("cli/errors")
    assert_clean_error(run_zoo("pull", "nobody/nothing", "--hub", hub_server.url), 2, "was not found")
    assert_clean_error(run_zoo("pull", "cli/errors@nope", "--hub", hub_server.url), 2, "no such revision")
    assert_clean_error(run_zoo("pull", "resnt18.tv_in1k"), 2, "Did you mean 'resnet18.tv_in1k'")
    assert_clean_error(run_zoo("pull", "cli/errors", "--hub", "http://127.0.0.1:9"), 1, "cannot reach")
    assert_clean_error(run_zoo("pull", "cli/errors", "--offline"), 1, "not in the local cache")
    hub_server.extra_tree["cli/errors"] = [{"type": "file", "oid": "0" * 40, "size": 1, "path": "../x"}]
    try:
        assert_clean_error(run_zoo("pull", "cli/errors", "--hub", hub_server.url), 1, "refused the repository path")
    finally:
        del hub_server.extra_tree["cli/errors"]


def test_pinned_file_missing_from_the_repo(run_zoo, published, hub_server, tmp_path):
    result, _ = published("cli/missing-file", seed=6)
    registry = tmp_path / "registry.toml"
    registry.write_text(
        f'[weights."cnn.missing"]\nmodel = "cnn"\nsource = "cli/missing-file"\n'
        f'revision = "{result["revision"]}"\n[weights."cnn.missing".files]\n'
        f'"weights.safetensors" = "sha256:{"0" * 64}"\n'
    )
    proc = run_zoo("pull", "cnn.missing", "--hub", hub_server.url, env={"ZOO_REGISTRY": str(registry)})
    assert_clean_error(proc, 2, "weights.safetensors is not in cli/missing-file@", "the catalog pins it")


def test_tampered_file_exits_1_naming_both_digests(run_zoo, published, hub_server):
    _, run = published("cli/tampered", seed=3)
    content = bytearray((run / "model.safetensors").read_bytes())
    content[100] ^= 0x01
    hub_server.tamper[("cli/tampered", "model.safetensors")] = bytes(content)
    try:
        proc = run_zoo("pull", "cli/tampered", "--hub", hub_server.url)
    finally:
        del hub_server.tamper[("cli/tampered", "model.safetensors")]
    message = assert_clean_error(proc, 1, "model.safetensors failed verification")
    assert len(re.findall(r"sha256:[0-9a-f]{64}", message)) == 2  # an LFS file, as safetensors are on the Hub


def test_offline_pull_after_an_online_one(run_zoo, published, olah):
    published("cli/offline", seed=4)
    online = json.loads(run_zoo("pull", "cli/offline", "--hub", olah, "--json").stdout)
    for env in ({"HF_HUB_OFFLINE": "1"}, {}):
        args = ["pull", "cli/offline", "--json", "--hub", "http://127.0.0.1:9"] + ([] if env else ["--offline"])
        offline = run_zoo(*args, env=env)
        assert offline.returncode == 0, offline.stderr
        assert json.loads(offline.stdout)["revision"] == online["revision"]


def test_pin_records_commit_and_hashes_keeping_comments(run_zoo, published, olah, tmp_path):
    result, _ = published("cli/to-pin", seed=5)
    registry = tmp_path / "registry.toml"
    registry.write_text(
        '# pinned by zoo pin\n[weights."cnn.latest"]\nmodel = "cnn"  # the tutorial net\n'
        'source = "cli/to-pin"\nrevision = "main"\n'
    )
    env = {"ZOO_REGISTRY": str(registry), "HF_ENDPOINT": olah}
    assert json.loads(run_zoo("info", "cnn", "--json", env=env).stdout)["weights"][0]["pinned"] is False
    proc = run_zoo("pin", "cnn.latest", env=env)
    assert proc.returncode == 0, proc.stderr
    text = registry.read_text()
    assert text.startswith("# pinned by zoo pin\n") and f'revision = "{result["revision"]}"' in text
    for file in result["files"]:
        assert f'"{file["path"]}" = "sha256:{file["sha256"]}"' in text
    assert json.loads(run_zoo("info", "cnn", "--json", env=env).stdout)["weights"][0]["pinned"] is True
    assert run_zoo("pull", "cnn.latest", env=env).returncode == 0


def test_pull_resnet18_by_its_bare_name(run_zoo, olah, timm_resnet18):
    proc = run_zoo("pull", "resnet18", "--json", env={"HF_ENDPOINT": olah})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert (data["name"], data["repo_id"]) == ("resnet18.tv_in1k", "timm/resnet18.tv_in1k")
    assert sorted(f["path"] for f in data["files"]) == ["config.json", "model.safetensors"]  # no pickle
    ours = zoo.create_model("resnet18", pretrained=True, hub=olah).eval()
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(ours(images), timm_resnet18(images))


def test_info_of_a_repo_published_with_zoo(run_zoo, published, hub_server):
    result, run = published("cli/info-me", seed=9)
    proc = run_zoo("info", f"cli/info-me@{result['revision']}", "--hub", hub_server.url, "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert (info["name"], info["repo_id"], info["revision"]) == ("cnn", "cli/info-me", result["revision"])
    assert info["claimed"] is None and info["metrics"] == json.loads((run / "metrics.json").read_text())
    assert info["params"] == json.loads(run_zoo("info", "cnn", "--json").stdout)["params"]
    assert {"model.safetensors", "config.json", "README.md"} <= set(info["files"])
