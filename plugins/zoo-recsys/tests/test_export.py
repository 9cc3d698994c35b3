"""zoo export of mf and ncf, each trained for one epoch on MovieLens-100K: both formats pass the parity gate with
identical top-10 items, the written files run by onnxruntime / torch.export.load reproduce the eager scores on
other (user, item) pairs, and `zoo predict --runtime onnx` answers as the torch runtime does."""

import json

import onnxruntime
import pytest
import torch
from zoo_fixtures import ZOO

from zoo.jobs.export import export
from zoo.jobs.inference import load_for_inference
from zoo.jobs.train import train

USERS = ["196", "1", "943"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{"mf": run folder, "ncf": run folder}: one epoch of each on MovieLens-100K (ncf with one negative: CI's time)."""
    folder = tmp_path_factory.mktemp("recsys-runs")
    train("mf", epochs=1, device="cpu", out=folder / "mf", quiet=True)
    train("ncf", epochs=1, device="cpu", out=folder / "ncf", quiet=True, sets={"negatives": 1})
    return {"mf": folder / "mf", "ncf": folder / "ncf"}


def other_pairs(users: int, items: int) -> tuple[torch.Tensor, torch.Tensor]:
    """1,001 (user, item) pairs the gate never scored as a batch: every user, items in another order."""
    generator = torch.Generator().manual_seed(5)
    return torch.randint(users, (1001,), generator=generator), torch.randint(items, (1001,), generator=generator)


def run_file(path: str, fmt: str, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """The written file run by its own runtime, without zoo."""
    if fmt == "onnx":
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]
        return torch.from_numpy(session.run(None, dict(zip(names, (users.numpy(), items.numpy()), strict=True)))[0])
    return torch.export.load(path).module()(users, items)


@pytest.mark.parametrize("name", ["mf", "ncf"])
def test_mf_and_ncf_export_in_both_formats_and_pass_the_gate(runs, name):
    run = runs[name]
    recipe, model, _ = load_for_inference(str(run), device="cpu")
    ids = recipe.id_index()
    users, items = other_pairs(len(ids.users), len(ids.items))
    with torch.no_grad():
        eager = model(users, items)
    assert 0.01 < eager.abs().max() < 100, eager.abs().max()  # trained, not a random init
    for fmt in ("onnx", "pt2"):
        result = export(str(run), fmt)
        parity = result["parity"]
        assert result["path"] == str(run / f"model.{fmt}") and parity["passed"], parity
        assert parity["agreement"] == {"name": "top-10 items", "value": 1.0} and parity["samples"] == 8
        assert parity["source"] == f"7 users of the run's id index, with each of its {len(ids.items)} items"
        torch.testing.assert_close(run_file(result["path"], fmt, users, items), eager, atol=1e-4, rtol=1e-4)


def predicted(run, runtime: str) -> list[dict]:
    users = [a for user in USERS for a in ("--user", user)]
    proc = subprocess_zoo("predict", str(run), *users, "--top", "10", "--runtime", runtime, "--device", "cpu", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def subprocess_zoo(*args: str):
    import subprocess

    return subprocess.run([str(ZOO), *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", ["mf", "ncf"])
def test_predict_with_the_onnx_runtime_answers_as_torch(runs, name):
    run = runs[name]
    if not (run / "model.onnx").is_file():
        export(str(run), "onnx")
    torch_rows, onnx_rows = predicted(run, "torch"), predicted(run, "onnx")
    assert [r["input"] for r in onnx_rows] == USERS == [r["input"] for r in torch_rows]
    for ours, theirs in zip(onnx_rows, torch_rows, strict=True):
        assert [i["item"] for i in ours["output"]] == [i["item"] for i in theirs["output"]]
        assert len(ours["output"]) == 10 and not any(i["popular"] for i in ours["output"])
        assert [i["score"] for i in ours["output"]] == pytest.approx([i["score"] for i in theirs["output"]], abs=1e-4)


def test_the_recommenders_agreement_compares_top_10_unseen_items_per_user(runs):
    """The gate's agreement, on scores that differ where it matters (a user's top 10) and where it does not (items
    the user has seen, which are never recommended)."""
    recipe, model, _ = load_for_inference(str(runs["mf"]), device="cpu")
    inputs = recipe.example_inputs(3)
    with torch.no_grad():
        eager = model(*inputs.tensors)
    items = inputs.extra["items"]
    assert recipe.agreement(eager, eager.clone(), inputs).agreeing == 3
    first = inputs.extra["users"][0]
    seen = torch.from_numpy(recipe.id_index().seen(first).astype("int64"))
    assert len(seen) > 0
    boosted = eager.clone()
    boosted[:items][seen] += 100  # seen items scored first: still not recommended
    assert recipe.agreement(eager, boosted, inputs).agreeing == 3
    unseen = torch.ones(items, dtype=torch.bool).index_fill_(0, seen, False)
    tenth = eager[:items].masked_fill(~unseen, float("-inf")).topk(11).indices
    swapped = eager.clone()
    swapped[tenth[9]], swapped[tenth[10]] = eager[tenth[10]], eager[tenth[9]]  # the 10th and 11th trade places
    result = recipe.agreement(eager, swapped, inputs)
    assert (result.name, result.agreeing, result.total) == ("top-10 items", 2, 3)
