"""The run's id index (data/index.safetensors): checked by its schema where it is read, by type and range, so a
damaged or hostile index fails `zoo predict` and `zoo eval` with one line naming the file and the field."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file
from zoo_fixtures import assert_clean_error
from zoo_recsys.index import FORMAT, Index

from zoo.core.errors import UsageError
from zoo.plugin.schema import DocumentError

ZOO = Path(sys.executable).with_name("zoo")
# Item A is rated by 30 users, B by 20, C by 10, and each user rates 3 items of their own: A, B and C are the
# most rated in any 80% of the ratings, so they are the popular items, in that order.
USERS = 30


def _ratings() -> str:
    rows = [
        f"u{u},{item},{1 + u % 5}" for u in range(USERS) for item, fans in (("A", 30), ("B", 20), ("C", 10)) if u < fans
    ]
    rows += [f"u{u},own{u}-{k},{1 + (u + k) % 5}" for u in range(USERS) for k in range(3)]
    return "user,item,rating\n" + "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, params_cache) -> tuple[Path, Path]:
    """(a trained mf run on a small ratings CSV, that CSV): trained once for the module, copied by each test."""
    folder = tmp_path_factory.mktemp("tiny-run")
    data = folder / "ratings.csv"
    data.write_text(_ratings())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOO_", "HF_", "MLFLOW_", "PYTHONPATH"))}
    env.update(ZOO_CACHE_DIR=str(params_cache), HF_HOME=str(folder / "hf"), COLUMNS="200", NO_COLOR="1")
    run = folder / "run"
    args = ["train", "mf", "--dataset", "ratings-csv", "--data-dir", str(data), "--epochs", "1", "--set", "dim=4"]
    proc = subprocess.run(
        [str(ZOO), *args, "--device", "cpu", "--out", str(run)], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return run, data


def _copy(tiny_run, tmp_path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(tiny_run[0], run)
    return run


def _damage(run: Path, change) -> Path:
    """Rewrite the run's index with `change(tensors)` applied (a safetensors file still, with its format)."""
    path = run / "data" / "index.safetensors"
    tensors = load_file(path)
    change(tensors)
    save_file(tensors, path, metadata={"format": FORMAT})
    return path


def _set(name, value):
    return lambda t: t.__setitem__(name, value)


def _poke(name, at, value):
    def change(t):
        t[name] = t[name].copy()
        t[name][at] = value

    return change


DAMAGES = {  # what is damaged -> (the change, the field the answer must name)
    "wrong type": (lambda t: t.__setitem__("seen_items", t["seen_items"].astype(np.float32)), "seen_items.dtype"),
    "lengths disagree": (lambda t: t.__setitem__("titles_offsets", t["titles_offsets"][:-1]), "titles_offsets.shape"),
    "fewer seen lists than users": (lambda t: t.__setitem__("seen_offsets", t["seen_offsets"][:-1]), "seen_offsets"),
    "item index out of range": (_poke("popular", 0, 10**6), "popular.max"),
    "negative item index": (_poke("seen_items", 0, -1), "seen_items.min"),
    "huge offset": (_poke("seen_offsets", -1, 2**62), "seen_offsets.last"),
    "offsets that go back": (lambda t: _poke("users_offsets", 1, t["users_offsets"][2] + 1)(t), "least_step"),
    "a missing tensor": (lambda t: t.pop("popular"), "popular' is missing"),
    "more popular items than items": (
        lambda t: t.__setitem__("popular", np.zeros(10**4, dtype=np.int64)),
        "popular.shape",
    ),
    "text that is not UTF-8": (_poke("users_utf8", 0, 0xFF), "users_utf8' is not UTF-8"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_a_damaged_index_names_the_file_and_field(tiny_run, tmp_path, damage):
    change, field = DAMAGES[damage]
    path = _damage(_copy(tiny_run, tmp_path), change)
    with pytest.raises(DocumentError) as caught:
        Index.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and field in message and "\n" not in message, message


def test_a_repeated_user_id_is_refused(tmp_path):
    path = tmp_path / "index.safetensors"
    empty = np.zeros(3, dtype=np.int64)
    Index(["7", "7"], ["a"], [""], empty, np.zeros(0, np.int32), np.zeros(1, np.int64)).save(path)
    with pytest.raises(DocumentError, match=r"field 'distinct_users' must be an integer in \[2, 2\], got 1"):
        Index.load(path)


def test_an_index_of_another_format_is_refused(tiny_run, tmp_path):
    path = tmp_path / "index.safetensors"
    save_file(load_file(tiny_run[0] / "data" / "index.safetensors"), path, metadata={"format": "other/1"})
    with pytest.raises(DocumentError, match="field 'format' must be one of zoo-recsys-index/1, got 'other/1'"):
        Index.load(path)


@pytest.mark.parametrize(("command", "damage"), [("predict", "wrong type"), ("eval", "item index out of range")])
def test_predict_and_eval_refuse_a_damaged_index_in_one_line(run_zoo, tiny_run, tmp_path, command, damage):
    change, field = DAMAGES[damage]
    run = _copy(tiny_run, tmp_path)
    path = _damage(run, change)
    args = ["--user", "u1"] if command == "predict" else ["--data-dir", str(tiny_run[1])]
    stderr = assert_clean_error(run_zoo(command, str(run), *args, "--device", "cpu"), 2, str(path), field)
    assert len(stderr.strip().splitlines()) == 1, stderr


def test_eval_refuses_data_whose_ids_are_not_the_runs(run_zoo, tiny_run, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text(tiny_run[1].read_text().replace("u1,", "stranger,"))
    proc = run_zoo("eval", str(tiny_run[0]), "--data-dir", str(other), "--device", "cpu")
    assert_clean_error(proc, 2, str(other), "are not those of", "index.safetensors")
    same = run_zoo("eval", str(tiny_run[0]), "--data-dir", str(tiny_run[1]), "--device", "cpu", "--json")
    assert same.returncode == 0, same.stderr
    trained = json.loads((tiny_run[0] / "metrics.json").read_text())
    assert {k: pytest.approx(trained[k], abs=1e-5) for k in ("rmse", "mae")} == json.loads(same.stdout)["metrics"]


def test_model_args_larger_than_the_index_allocate_nothing(tiny_run):
    from zoo.jobs.train import make_recipe, resolve, settings

    mspec, rspec, dspec = resolve("mf", None, "ratings-csv")
    recipe = make_recipe(rspec, mspec, dspec, settings(rspec, {"device": "cpu"}, {}), None)
    recipe.run_folder = tiny_run[0]
    args = json.loads((tiny_run[0] / "config.json").read_text())["model_args"]
    assert recipe.inference_model(args).user.num_embeddings == USERS
    with pytest.raises(UsageError, match=f"holds {USERS} users and .* say 1000000000000 and"):
        recipe.inference_model({**args, "num_users": 10**12})  # 10**12 x 4 floats: would fail to allocate


def test_a_config_claiming_more_users_than_the_index_is_one_line(run_zoo, tiny_run, tmp_path):
    run = _copy(tiny_run, tmp_path)
    config = json.loads((run / "config.json").read_text())
    config["model_args"]["num_users"] = 10**12
    (run / "config.json").write_text(json.dumps(config))
    stderr = assert_clean_error(run_zoo("predict", str(run), "--user", "u1", "--device", "cpu"), 2, "index.safetensors")
    assert "holds 30 users" in stderr and len(stderr.strip().splitlines()) == 1, stderr


def test_an_unknown_user_gets_the_popular_items_plain_and_json(run_zoo, tiny_run):
    run = str(tiny_run[0])
    plain = run_zoo("predict", run, "--user", "nobody", "--top", "3", "--device", "cpu")
    assert plain.returncode == 0, plain.stderr
    lines = plain.stdout.splitlines()
    assert lines[0].startswith("nobody:") and "popular" in lines[0], plain.stdout
    assert [line.split() for line in lines[1:]] == [["A", "popular"], ["B", "popular"], ["C", "popular"]], lines
    given = run_zoo("predict", run, "--user", "nobody", "--user", "u0", "--top", "3", "--device", "cpu", "--json")
    assert given.returncode == 0, given.stderr
    unknown, known = json.loads(given.stdout)
    assert [(r["item"], r["score"], r["popular"]) for r in unknown["output"]] == [(v, None, True) for v in "ABC"]
    assert all(set(r) >= {"item", "score", "title", "popular"} for r in unknown["output"] + known["output"])
    ids = Index.load(tiny_run[0] / "data" / "index.safetensors")
    seen = {ids.items[v] for v in ids.seen(ids.users.index("u0")).tolist()}  # rated in training: never recommended
    assert known["input"] == "u0" and seen and not seen & {r["item"] for r in known["output"]}
    assert all(isinstance(r["score"], float) and r["popular"] is False for r in known["output"])
