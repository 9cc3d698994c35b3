"""The claim_repo hook from outside the core: a third-party plugin (tests/fixtures/plugins/zoo-vit, installed as
a real distribution) claims timm's ViT repositories, and zoo predicts with them exactly as timm does."""

import json

import pytest
import torch
from PIL import Image
from zoo_fixtures import assert_clean_error

from zoo.hub.local_git import LocalHub
from zoo.plugin.claims import ForeignRepo, found_in


@pytest.fixture(scope="module")
def vit_repo(hub_root, tmp_path_factory):
    """timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k as timm saves it, with random weights."""
    import timm

    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_patch16_224.augreg_in21k_ft_in1k", pretrained=False).eval()
    folder = tmp_path_factory.mktemp("vit")
    timm.models.save_for_hf(model, folder, safe_serialization=True)
    local = LocalHub(hub_root)
    local.create_repo("timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k")
    local.commit("timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k", {p.name: p for p in folder.iterdir()}, "timm")
    return model


def test_a_third_party_plugin_claims_timm_vits(run_zoo, plugin_sites, hub_server, vit_repo, tmp_path):
    import timm

    photo = tmp_path / "photo.jpg"
    Image.fromarray((torch.rand(240, 320, 3) * 255).to(torch.uint8).numpy()).save(photo)
    repo, env = "timm/vit_tiny_patch16_224.augreg_in21k_ft_in1k", {"HF_ENDPOINT": hub_server.url}
    # --device cpu: compared with timm on the CPU at 2e-6 (TF32 on a GPU is not that close)
    proc = run_zoo("predict", repo, str(photo), "--json", "--device", "cpu", sites=[plugin_sites("zoo-vit")], env=env)
    assert proc.returncode == 0, proc.stderr
    config = timm.data.resolve_data_config({}, model=vit_repo)
    with torch.no_grad():
        probs = torch.softmax(vit_repo(timm.data.create_transform(**config)(Image.open(photo).convert("RGB"))[None]), 1)
    top = probs[0].topk(5)
    [row] = json.loads(proc.stdout)
    assert [item["label"] for item in row["output"]] == [str(i) for i in top.indices.tolist()]
    assert [item["score"] for item in row["output"]] == pytest.approx(top.values.tolist(), abs=2e-6)
    info = json.loads(run_zoo("info", repo, "--json", sites=[plugin_sites("zoo-vit")], env=env).stdout)
    assert info["claimed"] == {"plugin": "vit", "library": "timm", "architecture": "vit_tiny_patch16_224"}

    # Without the plugin nobody claims it, and the error says what zoo found and whom it asked.
    unclaimed = run_zoo("predict", repo, str(photo), env=env)
    assert_clean_error(unclaimed, 2, f"no plugin can load {repo}", "library timm", "vit_tiny_patch16_224", "resnet")


def test_what_zoo_says_it_found():
    assert found_in({"architectures": ["BertForMaskedLM"], "transformers_version": "5.0"}) == (
        "library transformers and architectures BertForMaskedLM"
    )
    assert found_in({"architecture": "vit_base", "pretrained_cfg": {}}) == "library timm and architectures vit_base"
    assert found_in({"library_name": "open_clip"}) == "library open_clip and no architecture"
    assert found_in({"architectures": 7}) == "no library name and no architecture"


def test_a_repo_reads_only_files_it_lists(tmp_path):
    (tmp_path / "vocab.json").write_text('{"a": 0}')
    (tmp_path / "bad.json").write_text("[1, 2]")
    repo = ForeignRepo("o/r", "0" * 40, {}, ("vocab.json", "bad.json"), lambda p: tmp_path / p)
    assert repo.json("vocab.json") == {"a": 0}
    assert repo.json("bad.json") is None  # JSON, but not an object
    assert repo.json("absent.json") is None
