"""Pull and publish with the real huggingface_hub client over HTTP: the test server for writes, olah for reads."""

import json
import urllib.request
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard

import zoo
from zoo.core.errors import UsageError, ZooError
from zoo.hub import pull as zhub
from zoo.hub.integrity import VerificationError
from zoo.hub.local_git import LocalHub
from zoo.hub.remote import hf_cache_folder


@pytest.fixture
def token(hub_server, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", hub_server.token)
    return hub_server.token


def same_tensors(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.usefixtures("token")
def test_round_trip_publish_via_server_pull_via_olah(hub_server, olah, make_run):
    run, model = make_run("cnn", seed=1)
    published = zoo.publish(run, "roundtrip/cnn-digits", hub=hub_server.url)
    assert published.commit_url == f"{hub_server.url}/roundtrip/cnn-digits/commit/{published.revision}"
    assert [f.path for f in published.files] == ["README.md", "config.json", "metrics.json", "model.safetensors"]
    pulled = zhub.download("roundtrip/cnn-digits", hub=olah)
    assert pulled.revision == published.revision
    assert {f.path: f.sha256 for f in pulled.files} == {f.path: f.sha256 for f in published.files}
    loaded = zoo.create_model("roundtrip/cnn-digits", pretrained=True, hub=olah)
    assert same_tensors(model, loaded)
    config = json.loads((pulled.path / "config.json").read_text())
    assert config | {"model": "cnn", "plugin": "cnn", "task": "image-classification", "seed": 1} == config
    assert config["dataset"] == {"name": "digits", "fingerprint": "sha256:" + "0" * 64}
    assert config["metrics"] == {"accuracy": 0.95, "loss": 0.2}
    assert config["torch_version"] == torch.__version__.split("+")[0]
    card = ModelCard.load(pulled.path / "README.md")
    assert card.data.library_name == "zoo"
    assert "zoo" in card.data.tags and card.data.datasets == ["digits"]
    assert {(r.metric_type, r.metric_value) for r in card.data.eval_results} == {("accuracy", 0.95), ("loss", 0.2)}


@pytest.mark.usefixtures("token")
def test_catalog_entry_from_publish_pins_and_pulls(
    hub_server, olah, make_run, tmp_path, monkeypatch, isolated_registry
):
    run, model = make_run("cnn", seed=2, dataset="cifar10")
    registry_file = tmp_path / "team.toml"
    registry_file.write_text("# our team's weights\n")
    published = zoo.publish(run, "pinned/cnn", hub=hub_server.url, register=registry_file)
    assert published.entry_name == "cnn.cifar10"
    text = registry_file.read_text()
    assert text.startswith("# our team's weights\n") and published.revision in text
    monkeypatch.setenv("ZOO_REGISTRY", str(registry_file))
    isolated_registry()
    info = zoo.model_info("cnn")
    assert [(w["name"], w["pinned"]) for w in info["weights"]] == [("cnn.cifar10", True)]
    assert same_tensors(model, zoo.create_model("cnn.cifar10", pretrained=True, hub=olah))
    assert same_tensors(model, zoo.create_model("cnn", pretrained=True, hub=olah))  # the default weights of cnn


@pytest.mark.usefixtures("token")
def test_verified_files_are_not_hashed_again(hub_server, olah, make_run, monkeypatch):
    run, _ = make_run("cnn", seed=3)
    zoo.publish(run, "hashing/cnn", hub=hub_server.url)
    calls = []
    from zoo.hub.integrity import hash_file as real

    monkeypatch.setattr("zoo.hub.integrity.hash_file", lambda path, **kw: calls.append(path) or real(path, **kw))
    zhub.download("hashing/cnn", hub=olah)
    assert len(calls) == 4
    zhub.download("hashing/cnn", hub=olah)
    assert len(calls) == 4  # nothing re-hashed


@pytest.mark.usefixtures("token")
def test_tampered_regular_file_is_caught_and_removed(hub_server, make_run):
    """config.json is a regular (non-LFS) file: its git blob id is the reference. LFS files: test_pull_lfs.py."""
    run, _ = make_run("cnn", seed=4)
    zoo.publish(run, "tamper/cnn", hub=hub_server.url)
    with urllib.request.urlopen(f"{hub_server.url}/tamper/cnn/raw/main/config.json") as published:
        content = published.read().replace(b'"seed": 4', b'"seed": 5')  # same size, other bytes
    hub_server.tamper[("tamper/cnn", "config.json")] = content
    with pytest.raises(
        VerificationError,
        match=r"config.json failed verification: expected git-sha1:\w{40}, got git-sha1:\w{40}",
    ):
        zhub.download("tamper/cnn", hub=hub_server.url)
    cache = Path(hf_cache_folder("tamper/cnn"))
    assert not list(cache.glob("snapshots/*/config.json"))
    assert not any(b.read_bytes() == content for b in cache.glob("blobs/*"))
    del hub_server.tamper[("tamper/cnn", "config.json")]
    assert zhub.download("tamper/cnn", hub=hub_server.url).files  # a clean pull repairs the cache


@pytest.mark.usefixtures("token")
def test_file_changed_in_the_cache_is_caught(hub_server, olah, make_run):
    run, _ = make_run("cnn", seed=5)
    zoo.publish(run, "rot/cnn", hub=hub_server.url)
    pulled = zhub.download("rot/cnn", hub=olah)
    blob = (pulled.path / "config.json").resolve()
    blob.write_text(blob.read_text().replace('"cnn"', '"cnx"'))
    with pytest.raises(VerificationError, match=r"config.json failed verification"):
        zhub.download("rot/cnn", hub=olah)
    assert not blob.exists()


@pytest.mark.usefixtures("token")
def test_offline_pull_from_the_cache(hub_server, olah, make_run):
    run, _ = make_run("cnn", seed=6)
    zoo.publish(run, "offline/cnn", hub=hub_server.url)
    online = zhub.download("offline/cnn", hub=olah)
    offline = zhub.download("offline/cnn", hub="http://127.0.0.1:9", offline=True)
    assert (offline.revision, offline.path) == (online.revision, online.path)
    with pytest.raises(ZooError, match=r"is not in the local cache"):
        zhub.download("offline/never-pulled", hub=olah, offline=True)


@pytest.mark.usefixtures("token")
def test_publish_refuses_incomplete_or_corrupt_runs(hub_server, make_run):
    run, _ = make_run("cnn", seed=7)
    (run / "metrics.json").unlink()
    with pytest.raises(UsageError, match=r"lacks metrics.json"):
        zoo.publish(run, "refused/cnn", hub=hub_server.url)
    run, _ = make_run("cnn", seed=8)
    (run / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(UsageError, match=r"is not a valid safetensors file"):
        zoo.publish(run, "refused/cnn", hub=hub_server.url)
    assert not LocalHub(hub_server.hub.root).exists("refused/cnn")  # nothing half-written on the hub


@pytest.mark.usefixtures("token")
def test_dry_run_uploads_nothing(hub_server, make_run):
    run, _ = make_run("cnn", seed=9)
    result = zoo.publish(run, "dry/cnn", hub=hub_server.url, dry_run=True)
    assert result.revision is None and len(result.files) == 4
    assert not hub_server.hub.exists("dry/cnn")


def test_local_hub_folder_with_history_served_by_olah(hub_root, olah, make_run):
    first, model_1 = make_run("cnn", seed=10)
    second, model_2 = make_run("cnn", seed=11)
    one = zoo.publish(first, "team/cnn", hub=hub_root)
    two = zoo.publish(second, "team/cnn", hub=hub_root)
    assert one.commit_url.startswith("file://") and one.revision != two.revision
    # Pulled straight from the folder, at each revision ...
    assert same_tensors(model_2, zoo.create_model("team/cnn", pretrained=True, hub=hub_root))
    assert same_tensors(model_1, zoo.create_model("team/cnn", pretrained=True, hub=hub_root, revision=one.revision))
    # ... and through olah in front of the same folder, with the unmodified client.
    assert zhub.download(f"team/cnn@{one.revision}", hub=olah).revision == one.revision
    assert same_tensors(model_2, zoo.create_model("team/cnn", pretrained=True, hub=olah))


@pytest.mark.usefixtures("token")
def test_unknown_repo_revision_and_not_a_zoo_repo(hub_server, make_run):
    with pytest.raises(UsageError, match=r"was not found"):
        zhub.download("nobody/nothing", hub=hub_server.url)
    run, _ = make_run("cnn", seed=12)
    zoo.publish(run, "known/cnn", hub=hub_server.url)
    with pytest.raises(UsageError, match=r"no such revision"):
        zhub.download("known/cnn@v9", hub=hub_server.url)
    hub_server.hub.create_repo("plain/repo")
    hub_server.hub.commit("plain/repo", {"notes.txt": b"hello"}, "not a model")
    with pytest.raises(UsageError, match=r"no plugin can load plain/repo: it is not a zoo repo and it has no config"):
        zhub.download("plain/repo", hub=hub_server.url)


@pytest.mark.usefixtures("token")
def test_path_traversal_in_a_listing_is_refused(hub_server, make_run):
    run, _ = make_run("cnn", seed=13)
    zoo.publish(run, "evil/cnn", hub=hub_server.url)
    hub_server.extra_tree["evil/cnn"] = [{"type": "file", "oid": "0" * 40, "size": 1, "path": "../../escape.txt"}]
    with pytest.raises(ZooError, match=r"refused the repository path '../../escape.txt'"):
        zhub.download("evil/cnn", hub=hub_server.url)
    assert not list(Path(hf_cache_folder("evil/cnn")).glob("snapshots/*/*"))


@pytest.mark.usefixtures("token")
def test_private_repo_needs_the_token(hub_server, make_run, monkeypatch):
    run, _ = make_run("cnn", seed=14)
    zoo.publish(run, "secret/cnn", hub=hub_server.url, private=True)
    assert zhub.download("secret/cnn", hub=hub_server.url).files
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(UsageError, match=r"or it is private"):
        zhub.download("secret/cnn", hub=hub_server.url, revision="main")


def test_pickle_weights_need_allow_pickle_and_load_weights_only(hub_root, tmp_path):
    import pickle

    torch.manual_seed(0)
    model = zoo.create_model("cnn")
    local = LocalHub(hub_root)
    local.create_repo("pickles/cnn")
    config = {"zoo_version": "0.1.0", "model": "cnn", "model_args": {}}
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin")
    local.commit(
        "pickles/cnn",
        {"config.json": json.dumps(config).encode(), "pytorch_model.bin": tmp_path / "pytorch_model.bin"},
        "pickle weights",
    )
    with pytest.raises(UsageError, match=r"only pickle weights"):
        zhub.download("pickles/cnn", hub=hub_root)
    assert same_tensors(model, zoo.create_model("pickles/cnn", pretrained=True, hub=hub_root, allow_pickle=True))

    class Exploit:
        def __reduce__(self):
            return (print, ("pwned",))

    (tmp_path / "evil.bin").write_bytes(pickle.dumps({"conv1.weight": Exploit()}))
    local.create_repo("pickles/evil")
    local.commit(
        "pickles/evil",
        {"config.json": json.dumps(config).encode(), "pytorch_model.bin": tmp_path / "evil.bin"},
        "an exploit",
    )
    with pytest.raises(ZooError, match=r"is not a loadable weights-only checkpoint"):
        zoo.create_model("pickles/evil", pretrained=True, hub=hub_root, allow_pickle=True)


def test_corrupt_safetensors_in_a_repo(hub_root):
    local = LocalHub(hub_root)
    local.create_repo("broken/cnn")
    config = {"zoo_version": "0.1.0", "model": "cnn", "model_args": {}}
    local.commit(
        "broken/cnn", {"config.json": json.dumps(config).encode(), "model.safetensors": b"\xff" * 64}, "corrupt weights"
    )
    with pytest.raises(ZooError, match=r"is not a valid safetensors file"):
        zoo.create_model("broken/cnn", pretrained=True, hub=hub_root)


def test_weights_for_another_architecture_name_the_keys(hub_root, make_run):
    run, _ = make_run("cnn", seed=15, num_classes=4)
    zoo.publish(run, "shapes/cnn", hub=hub_root)
    misfit = r"num_classes=10 describe does not fit .*fc3.weight is \[10, 84\] in the model, \[4, 84\] in the weights"
    with pytest.raises(ZooError, match=misfit):
        zoo.create_model("shapes/cnn", pretrained=True, hub=hub_root, num_classes=10)


@pytest.mark.usefixtures("token")
def test_every_hub_request_names_zoo_in_its_user_agent(hub_server, make_run):
    """As timm tags its downloads: publish and pull send `zoo/<version>` (library_name, library_version)."""
    run, _ = make_run("cnn", seed=16)
    start = len(hub_server.user_agents)
    zoo.publish(run, "agent/cnn", hub=hub_server.url)
    zhub.download("agent/cnn", hub=hub_server.url)
    seen = hub_server.user_agents[start:]
    assert {request.split()[0] for request, _ in seen} >= {"GET", "POST"}
    assert any("/resolve/" in request for request, _ in seen)  # the file downloads too, not only the API calls
    assert all(f"zoo/{zoo.__version__}" in agent for _, agent in seen), seen
