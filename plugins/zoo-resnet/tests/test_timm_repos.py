"""timm's ResNet repositories, saved by timm itself and served by the test Hub: zoo claims them and predicts as
timm does (create_model + resolve_data_config + create_transform on the same file)."""

import json

import pytest
import timm
import torch
import torchvision
from PIL import Image
from zoo_fixtures import assert_clean_error, write_image_folder
from zoo_resnet.recipe import imagenet_categories

import zoo
from zoo.hub.local_git import LocalHub

# timm is the reference, on the CPU: pinned, so that a GPU box (TF32 convolutions) compares the same arithmetic.
CPU = ("--json", "--device", "cpu")


@pytest.fixture
def photo(tmp_path):
    torch.manual_seed(7)
    pixels = (torch.rand(333, 517, 3) * 255).to(torch.uint8).numpy()
    path = tmp_path / "photo.jpg"
    Image.fromarray(pixels).save(path, quality=92)
    return path


def spread(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Random batch-norm statistics, so that a random model's classes are far apart (no near-ties in the top 5)."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(module.num_features, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
    return model.eval()


@pytest.fixture(scope="module")
def timm_repos(hub_root, tmp_path_factory):
    """`timm_repos("resnet50.a1_in1k")`: the model timm saved (save_for_hf, safetensors) into timm/<name>."""
    made: dict[str, torch.nn.Module] = {}

    def make(name: str, repo: str | None = None, **model_config) -> torch.nn.Module:
        repo = repo or f"timm/{name}"
        if repo in made:
            return made[repo]
        torch.manual_seed(len(made))
        num_classes = len(model_config.get("label_names") or []) or 1000
        model = spread(timm.create_model(name, pretrained=False, num_classes=num_classes), seed=len(made))
        folder = tmp_path_factory.mktemp(name)
        timm.models.save_for_hf(model, folder, model_config=model_config or None, safe_serialization=True)
        local = LocalHub(hub_root)
        local.create_repo(repo)
        local.commit(repo, {p.name: p for p in folder.iterdir()}, f"timm {name}")
        made[repo], make.folders[repo] = model, folder
        return model

    make.folders = {}
    return make


def commit_damaged(hub_root, repo: str, folder, **changes) -> dict:
    """timm's files in `folder` as `repo`, with config.json's fields changed (pretrained_cfg's: `cfg={...}`)."""
    config = json.loads((folder / "config.json").read_text())
    config = {**config, **changes, "pretrained_cfg": {**config["pretrained_cfg"], **changes.get("cfg", {})}}
    config.pop("cfg", None)
    local = LocalHub(hub_root)
    local.create_repo(repo)
    local.commit(repo, {"config.json": json.dumps(config).encode(), "model.safetensors": folder / "model.safetensors"},
                 "a damaged config")  # fmt: skip
    return config


def timm_probabilities(model: torch.nn.Module, photo, **resolve) -> torch.Tensor:
    config = timm.data.resolve_data_config(resolve, model=model)
    with torch.no_grad():
        return torch.softmax(model(timm.data.create_transform(**config)(Image.open(photo).convert("RGB"))[None]), 1)[0]


@pytest.mark.parametrize("name", ["resnet50.a1_in1k", "resnet50.tv2_in1k", "resnet18.a1_in1k"])
def test_predict_matches_timm(run_zoo, hub_server, timm_repos, photo, name):
    """a1: bicubic, crop_pct 0.95 at 224; tv2: bilinear, crop_pct 0.875 at 176 (its pretrained_cfg's train size)."""
    model = timm_repos(name)
    proc = run_zoo("predict", f"timm/{name}", str(photo), *CPU, env={"HF_ENDPOINT": hub_server.url})
    assert proc.returncode == 0, proc.stderr
    [row] = json.loads(proc.stdout)
    expected = timm_probabilities(model, photo).topk(5)
    assert [item["label"] for item in row["output"]] == [imagenet_categories()[i] for i in expected.indices]
    assert [item["score"] for item in row["output"]] == pytest.approx(expected.values.tolist(), abs=2e-6)


def test_logits_equal_timms(hub_server, timm_repos, photo):
    """In-process: zoo's model and preprocessing against timm's, logit for logit (the figure in the closing note)."""
    from zoo_images.augment import normalize
    from zoo_images.classify import load_for_weights

    reference = timm_repos("resnet50.a1_in1k")
    model, config = zoo.load_pretrained("timm/resnet50.a1_in1k", hub=hub_server.url)
    assert type(model) is torchvision.models.ResNet and config["claimed"]["library"] == "timm"
    pre = config["preprocessing"]
    ours = normalize(load_for_weights(photo, pre)[None], pre["mean"], pre["std"])
    cfg = timm.data.resolve_data_config({}, model=reference)
    theirs = timm.data.create_transform(**cfg)(Image.open(photo).convert("RGB"))[None]
    assert torch.allclose(ours, theirs, atol=1e-5)
    with torch.no_grad():
        difference = (model.eval()(ours) - reference(theirs)).abs().max().item()
    print(f"largest absolute logit difference, zoo vs timm (resnet50.a1_in1k): {difference:.3g}")
    assert difference < 1e-5


def test_info_shows_the_claim_without_pulling_weights(run_zoo, hub_server, timm_repos):
    timm_repos("resnet50.tv2_in1k")
    start = len(hub_server.storage_requests)
    proc = run_zoo("info", "timm/resnet50.tv2_in1k", "--json", env={"HF_ENDPOINT": hub_server.url})
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["name"] == "resnet50" and info["task"] == "image-classification"
    assert info["claimed"] == {"plugin": "resnet", "library": "timm", "architecture": "resnet50.tv2_in1k"}
    cfg = timm.models.get_pretrained_cfg("resnet50.tv2_in1k").to_dict()
    assert info["preprocessing"] == {
        "input_size": list(cfg["input_size"]),
        "crop_pct": cfg["crop_pct"],
        "crop_mode": cfg["crop_mode"],
        "interpolation": cfg["interpolation"],
        "mean": list(cfg["mean"]),
        "std": list(cfg["std"]),
    }
    assert info["params"] == sum(p.numel() for p in torchvision.models.resnet50().parameters())
    assert info["labels"] == {"set": "imagenet-1k"}  # named, not listed: listing them would import torchvision
    # The weights stayed on the Hub: info reads config.json and counts parameters from the architecture.
    assert not [r for r, _ in hub_server.storage_requests[start:] if r.startswith("GET /objects/")]
    human = run_zoo("info", "timm/resnet50.tv2_in1k", env={"HF_ENDPOINT": hub_server.url})
    assert "timm" in human.stdout and "bilinear" in human.stdout


def test_info_of_a_repo_does_not_import_torch(zoo_env, hub_server, timm_repos):
    import subprocess
    import sys

    timm_repos("resnet50.tv2_in1k")
    code = (
        "import sys\nsys.argv = ['zoo', 'info', 'timm/resnet50.tv2_in1k', '--json']\nfrom zoo.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "sys.stderr.write('TORCH=' + str('torch' in sys.modules))\n"
    )
    env = dict(zoo_env, HF_ENDPOINT=hub_server.url)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stderr.endswith("TORCH=False"), proc.stderr


def test_label_names_and_fine_tuning_from_a_timm_repo(run_zoo, hub_server, timm_repos, photo, tmp_path):
    base = timm_repos("resnet18.a1_in1k", repo="someone/resnet18-shapes", label_names=["circle", "square", "star"])
    proc = run_zoo("predict", "someone/resnet18-shapes", str(photo), *CPU, env={"HF_ENDPOINT": hub_server.url})
    assert proc.returncode == 0, proc.stderr
    expected = timm_probabilities(base, photo)
    [row] = json.loads(proc.stdout)
    assert [item["label"] for item in row["output"]] == [
        ["circle", "square", "star"][i] for i in expected.topk(3).indices
    ]

    data = write_image_folder(tmp_path / "colours", {"red": (220, 30, 30), "blue": (20, 40, 210)}, per_class=6)
    out = tmp_path / "run"
    args = ["train", "resnet18", "--dataset", "imagefolder", "--data-dir", str(data), "--epochs", "1"]
    args += ["--batch-size", "6", "--set", "size=64", "--set", "base=someone/resnet18-shapes", "--out", str(out)]
    proc = run_zoo(*args, "--set", "freeze_backbone=true", env={"HF_ENDPOINT": hub_server.url})
    assert proc.returncode == 0, proc.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["base_model"] == "someone/resnet18-shapes" and config["model_args"] == {"num_classes": 2}
    from safetensors.torch import load_file

    trained = load_file(out / "model.safetensors")
    assert torch.equal(trained["conv1.weight"], base.state_dict()["conv1.weight"])  # it started from the repo
    assert trained["fc.weight"].shape == (2, 512)


def test_a_timm_architecture_zoo_does_not_build_is_refused(run_zoo, hub_server, timm_repos):
    timm_repos("resnet26d.bt_in1k", repo="someone/resnet26d")
    proc = run_zoo("pull", "someone/resnet26d", env={"HF_ENDPOINT": hub_server.url})
    assert_clean_error(proc, 2, "no plugin can load someone/resnet26d", "library timm", "resnet26d", "resnet")


def test_catalog_names_use_the_catalogs_preprocessing(run_zoo, hub_server, timm_repos, photo):
    """resnet50.tv2_in1k predicts with torchvision's IMAGENET1K_V2 eval transform (232 -> 224), the one its
    published accuracy was measured with, not the 176 px of timm's pretrained_cfg that the repo id alone gives."""
    model = timm_repos("resnet50.tv2_in1k")
    proc = run_zoo("predict", "resnet50.tv2_in1k", str(photo), *CPU, env={"HF_ENDPOINT": hub_server.url})
    assert proc.returncode == 0, proc.stderr
    transform = torchvision.models.ResNet50_Weights.IMAGENET1K_V2.transforms()
    with torch.no_grad():
        expected = torch.softmax(model(transform(Image.open(photo).convert("RGB"))[None]), 1)[0].topk(5)
    [row] = json.loads(proc.stdout)
    assert [item["label"] for item in row["output"]] == [imagenet_categories()[i] for i in expected.indices]
    assert [item["score"] for item in row["output"]] == pytest.approx(expected.values.tolist(), abs=2e-6)
    by_repo = json.loads(run_zoo("predict", "timm/resnet50.tv2_in1k", str(photo), *CPU,
                                 env={"HF_ENDPOINT": hub_server.url}).stdout)  # fmt: skip
    assert by_repo != [row]  # the two preprocessings really differ


# Fields of timm's config.json (or its pretrained_cfg) a hostile repo can hold, with the field zoo names and why.
HOSTILE = [
    ({"cfg": {"crop_pct": 1e-300}}, "pretrained_cfg.crop_pct", "in [0.5, 1.5], got 1e-300"),
    ({"cfg": {"crop_pct": 0.001}}, "pretrained_cfg.crop_pct", "in [0.5, 1.5], got 0.001"),
    ({"cfg": {"input_size": [3, 8192, 8192]}}, "pretrained_cfg.input_size[1]", "in [16, 2048], got 8192"),
    ({"cfg": {"input_size": [1, 224, 224]}}, "pretrained_cfg.input_size[0]", "in [3, 3], got 1"),
    ({"cfg": {"input_size": "224"}}, "pretrained_cfg.input_size", "must be a list, got '224'"),
    ({"cfg": {"std": [0.2, 0.2, 0.0]}}, "pretrained_cfg.std[2]", "in [0.01, 1], got 0.0"),
    ({"cfg": {"mean": [0.5, 0.5]}}, "pretrained_cfg.mean", "must hold 3 items, got 2"),
    ({"cfg": {"interpolation": "cubic"}}, "pretrained_cfg.interpolation", "one of nearest, bilinear, bicubic"),
    ({"num_classes": "1000"}, "num_classes", "must be an integer in [0, 131072], got '1000'"),
    ({"num_classes": True}, "num_classes", "must be an integer in [0, 131072], got True"),
    ({"label_names": ["circle", "square"]}, "label_names", "must hold 1000 items, got 2"),
    ({"label_names": {"0": "circle", "one": "square"}}, "label_names.one (a key)", "an integer in [0, 131072)"),
    ({"label_names": {"0": "circle", "1000": "square"}}, "label_names.1000 (a key)", "in [0, 1000), got 1000"),
    ({"cfg": {"label_names": ["circle", 7]}}, "pretrained_cfg.label_names[1]", "must be a string, got 7"),
]


@pytest.mark.parametrize(("changes", "field", "reason"), HOSTILE, ids=[h[1] for h in HOSTILE])
def test_hostile_configs_are_refused_naming_the_field(timm_repos, changes, field, reason):
    """The claimer on each damage, in process: one error naming the repo's file and field, and why."""
    from zoo_resnet.timm_repos import claim

    from zoo.plugin import ForeignRepo
    from zoo.plugin.schema import DocumentError

    timm_repos("resnet18.a1_in1k")
    saved = json.loads((timm_repos.folders["timm/resnet18.a1_in1k"] / "config.json").read_text())
    config = {**saved, **changes, "pretrained_cfg": {**saved["pretrained_cfg"], **changes.get("cfg", {})}}
    with pytest.raises(DocumentError) as refused:
        claim(ForeignRepo("hostile/repo", "0" * 40, config, ("config.json",)), (18, 50))
    assert f"config.json of hostile/repo: field '{field}'" in str(refused.value) and reason in str(refused.value)
    assert "\n" not in str(refused.value)


def test_info_refuses_a_hostile_config_in_one_line(run_zoo, hub_root, hub_server, timm_repos):
    timm_repos("resnet18.a1_in1k")
    commit_damaged(hub_root, "hostile/size", timm_repos.folders["timm/resnet18.a1_in1k"],
                   cfg={"input_size": [3, 8192, 8192]})  # fmt: skip
    proc = run_zoo("info", "hostile/size", env={"HF_ENDPOINT": hub_server.url})
    assert_clean_error(proc, 2, "config.json of hostile/size: field 'pretrained_cfg.input_size[1]'", "got 8192")


def test_predict_refuses_a_hostile_crop_before_reading_the_image(run_zoo, hub_root, hub_server, timm_repos, photo):
    timm_repos("resnet18.a1_in1k")
    commit_damaged(hub_root, "hostile/crop", timm_repos.folders["timm/resnet18.a1_in1k"], cfg={"crop_pct": 0.001})
    proc = run_zoo("predict", "hostile/crop", str(photo), *CPU, env={"HF_ENDPOINT": hub_server.url})
    assert_clean_error(proc, 2, "config.json of hostile/crop: field 'pretrained_cfg.crop_pct'", "got 0.001")


def test_label_names_as_timm_writes_them_with_gaps(run_zoo, hub_root, hub_server, timm_repos):
    """timm's {index: name} form, with gaps (named by their index), loads: the schema refuses only real damage."""
    timm_repos("resnet18.a1_in1k")
    commit_damaged(hub_root, "someone/gaps", timm_repos.folders["timm/resnet18.a1_in1k"],
                   label_names={"0": "tench", "999": "toilet tissue"})  # fmt: skip
    info = json.loads(run_zoo("info", "someone/gaps", "--json", env={"HF_ENDPOINT": hub_server.url}).stdout)
    assert info["labels"] == {"count": 1000, "first": ["tench", "1", "2"]}


def test_a_config_that_claims_more_than_its_weights_hold_is_refused_on_the_meta_device(
    run_zoo, hub_root, hub_server, timm_repos
):
    """num_classes 100000 beside weights of 1000 classes: the model built on the meta device (nothing allocated)
    does not fit the safetensors header, and pull says which tensors differ, before anything loads."""
    timm_repos("resnet18.a1_in1k")
    commit_damaged(hub_root, "hostile/classes", timm_repos.folders["timm/resnet18.a1_in1k"], num_classes=100_000)
    proc = run_zoo("pull", "hostile/classes", env={"HF_ENDPOINT": hub_server.url})
    assert_clean_error(
        proc, 2, "hostile/classes: the model its config.json describes does not fit its weights",
        "fc.weight is [100000, 512] in the model, [1000, 512] in the weights",
    )  # fmt: skip
