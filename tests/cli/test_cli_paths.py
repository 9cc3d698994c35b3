"""Paths the file system refuses, given to any command: one line naming the flag, the path and the reason, exit 2,
nothing made. And the CLI's last line of defence for an OSError that nothing else caught."""


import pytest
from zoo_fixtures import assert_clean_error, unwritable

LONG = "n" * 300
TOO_LONG = "...(300 bytes)' is 300 bytes long, more than the file system allows (255): use a shorter name"
UNDER_A_FILE = "a-file is a file, not a folder"
A_FILE = "a-file: it is a file, not a folder"
UNWRITABLE = "choose a folder you can write"




# (arguments, the flag named, the reason); {file} is a file, {long} a name too long, {ro} a folder nothing is made in
CASES = {
    "train --out under a file": (["train", "cnn", "--out", "{file}/run"], "--out", UNDER_A_FILE),
    "train --out too long": (["train", "cnn", "--out", "{long}"], "--out", TOO_LONG),
    "train --out not makeable": (["train", "cnn", "--out", "{ro}/zoo-run"], "--out", UNWRITABLE),
    "train --data-dir too long": (["train", "cnn", "--data-dir", "{long}"], "--data-dir", TOO_LONG),
    "reproduce --out under a file": (["reproduce", "me/cnn", "--out", "{file}/r"], "--out", UNDER_A_FILE),
    "eval --data-dir under a file": (["eval", "cnn", "--data-dir", "{file}/d"], "--data-dir", UNDER_A_FILE),
    "predict a target too long": (["predict", "{long}", "x.png"], "MODEL|RUN_DIR", TOO_LONG),
    "runs DIR too long": (["runs", "{long}"], "DIR", TOO_LONG),
    "runs show under a file": (["runs", "show", "{file}/run"], "RUN_DIR", UNDER_A_FILE),
    "plugin new --dir a file": (["plugin", "new", "foo", "--dir", "{file}"], "--dir", A_FILE),
    "plugin new --dir not makeable": (["plugin", "new", "foo", "--dir", "{ro}/zoo-plugins"], "--dir", UNWRITABLE),
    "pull --hub a file": (["pull", "me/cnn", "--hub", "{file}"], "--hub", A_FILE),
    "publish --hub under a file": (["publish", "{tmp}", "me/cnn", "--hub", "{file}/hub"], "--hub", UNDER_A_FILE),
    "publish --register too long": (["publish", "{tmp}", "me/cnn", "--register", "{long}"], "--register", TOO_LONG),
    "pin --registry under a file": (["pin", "cnn.x", "--registry", "{file}/r.toml"], "--registry", UNDER_A_FILE),
}


@pytest.mark.parametrize("case", CASES)
def test_a_path_no_file_or_folder_can_be_at_is_refused_naming_its_flag(run_zoo, tmp_path, case):
    args, flag, reason = CASES[case]
    a_file = tmp_path / "a-file"
    a_file.write_text("the user's")
    names = {"file": a_file, "long": tmp_path / LONG, "ro": unwritable(tmp_path), "tmp": tmp_path}
    before = sorted(tmp_path.rglob("*"))
    proc = run_zoo(*(arg.format(**names) for arg in args), timeout=120, cwd=tmp_path)
    stderr = assert_clean_error(proc, 2, f"Error: {flag} ", reason)
    assert len(stderr.splitlines()) == 1 and proc.stdout == "", stderr
    assert sorted(tmp_path.rglob("*")) == before and a_file.read_text() == "the user's"  # nothing made


def test_a_hub_folder_from_zoo_hub_is_checked_as_the_flag(run_zoo, tmp_path):
    (tmp_path / "a-file").write_text("x")
    proc = run_zoo("pull", "me/cnn", env={"ZOO_HUB": str(tmp_path / "a-file")}, timeout=120)
    assert_clean_error(proc, 2, "Error: ZOO_HUB ", A_FILE)


@pytest.fixture
def hub_repo(hub_server, make_run):
    """A zoo run committed to the test Hub server directly (no `zoo publish`): its repo id."""
    run, _ = make_run("cnn", dataset="cifar10")
    hub_server.hub.create_repo("paths/cnn")
    hub_server.hub.commit("paths/cnn", {p.name: p for p in run.iterdir() if p.is_file()}, "a run")
    return "paths/cnn"


def test_an_os_error_nothing_else_caught_is_one_line_naming_the_file(run_zoo, hub_server, hub_repo, tmp_path):
    (tmp_path / "a-file").write_text("x")
    env = {"HF_HOME": str(tmp_path / "a-file" / "hf")}  # huggingface_hub's cache, under a file
    proc = run_zoo("pull", hub_repo, "--hub", hub_server.url, env=env, timeout=120)
    assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr and "unexpected" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and f"{tmp_path}/a-file" in proc.stderr, proc.stderr
    debug = run_zoo("--debug", "pull", hub_repo, "--hub", hub_server.url, env=env, timeout=120)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "NotADirectoryError" in debug.stderr
