"""The file system's refusals, where zoo meets them: one line naming the path, an exit code, nothing left behind."""

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from zoo_fixtures import unwritable

from zoo.core import atomic
from zoo.core.cache import read_cache
from zoo.core.errors import UsageError, ZooError
from zoo.core.fs import PathFailed, check_folder, check_writable, make_folder, os_error_line, path_error
from zoo.core.text import printable

LONG = "n" * 300




@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("the user's")
    return path


#: each way a folder cannot be, and the reason zoo gives
REASONS = {
    "a name too long": "the name 'nnnnnnnnnnnnnnnnnnnnnnnn...(300 bytes)' is 300 bytes long",
    "a path too long": "the path is",
    "under a file": "a-file is a file, not a folder",
    "a file where a folder must be": "a-file: it is a file, not a folder",
    "a folder that cannot be made": "choose a folder you can write",
}


def located(case: str, tmp_path: Path, a_file: Path) -> Path:
    return {
        "a name too long": tmp_path / LONG / "x",
        "a path too long": tmp_path.joinpath(*["d" * 200] * 25),
        "under a file": a_file / "x" / "y",
        "a file where a folder must be": a_file,
        "a folder that cannot be made": unwritable(tmp_path) / "zoo-x",
    }[case]


@pytest.mark.parametrize("case", REASONS)
def test_a_folder_zoo_cannot_make_is_one_line_naming_it(tmp_path, a_file, case):
    path = located(case, tmp_path, a_file)
    before = sorted(tmp_path.rglob("*"))
    for check in (check_writable, make_folder):
        with pytest.raises(UsageError) as refused:
            check(path, "--out")
        message = str(refused.value)
        assert message.startswith("--out ") and REASONS[case] in message and "\n" not in message, message
        assert isinstance(refused.value, OSError) and refused.value.errno is not None  # code that tolerates OSError
    assert sorted(tmp_path.rglob("*")) == before and a_file.read_text() == "the user's"


def test_checking_a_folder_leaves_nothing_behind(tmp_path):
    assert check_writable(tmp_path / "a" / "b", "--out") == tmp_path / "a" / "b"
    assert check_writable(tmp_path, "--out") == tmp_path
    assert list(tmp_path.iterdir()) == []
    assert make_folder(tmp_path / "a" / "b", "--out").is_dir()
    assert check_folder(tmp_path / "a", "--hub") == tmp_path / "a"


@pytest.mark.parametrize("case", REASONS)
def test_an_atomic_write_refused_names_the_file(tmp_path, a_file, case):
    target = located(case, tmp_path, a_file) / "config.json"
    with pytest.raises(UsageError, match=r"^cannot write .*config\.json: ") as refused:
        atomic.write_text(target, "{}")
    reason = REASONS[case].replace("a-file: it is", "a-file is")  # the file is above config.json
    assert reason in str(refused.value) and "\n" not in str(refused.value) and isinstance(refused.value, OSError)
    assert a_file.read_text() == "the user's"


def test_an_atomic_write_over_a_folder_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "config.json").mkdir()
    written = []
    refused = pytest.raises(UsageError, match=r"config\.json: it is a folder, not a file")
    with refused, atomic.replacing(tmp_path / "config.json") as tmp:
        written.append(tmp)  # weights could be gigabytes: not one byte before the refusal
    assert written == [] and [p.name for p in tmp_path.iterdir()] == ["config.json"]


def test_a_failure_outside_the_path_is_a_runtime_error():
    error = path_error(OSError(errno.ENOSPC, "No space left on device"), "cannot write", "/x/y.json")
    assert isinstance(error, PathFailed) and type(error).exit_code == ZooError.exit_code == 1
    assert str(error) == "cannot write /x/y.json: no space is left on the device"


def test_the_clis_last_line_of_defence_names_the_file_and_the_reason():
    line = os_error_line(OSError(errno.ENAMETOOLONG, "File name too long", "/tmp/" + LONG))
    assert line.startswith("/tmp/nnnnnnnnnnnnnnnnnnnnnnnn...(300 bytes): File name too long.")
    assert os_error_line(ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")) == (
        "Connection reset by peer"
    )


def test_a_cache_folder_that_cannot_be_is_no_damaged_cache(tmp_path, a_file, recwarn):
    assert read_cache(a_file / "params.json", "counted again") == {}
    assert read_cache(tmp_path / LONG / "params.json", "counted again") == {}
    assert not recwarn.list  # writing it will say why; it is not damaged
    os.mkfifo(tmp_path / "fifo.json")  # never opened: reading it would block; in a child, so a regression cannot hang
    code = "from pathlib import Path; from zoo.core.cache import read_cache; print(read_cache(Path(input()), 'x'))"
    proc = subprocess.run(
        [sys.executable, "-c", code], input=str(tmp_path / "fifo.json"), capture_output=True, text=True, timeout=60
    )
    assert proc.stdout == "{}\n" and "fifo.json is damaged or not a file" in proc.stderr, proc.stderr


def test_printable_keeps_foreign_text_on_one_line():
    text = "dog  0.9999\n  cat\tx\r\x1b[2J\u2028y\u202egnp.exe\x85"
    shown = printable(text, keep_newlines=False)
    assert shown == "dog  0.9999\\n  cat\\tx\\x0d\\x1b[2J\\u2028y\\u202egnp.exe\\x85"
    assert len(shown.splitlines()) == 1 and shown.isprintable()
    assert printable("a\nb\tc") == "a\nb\tc"  # zoo's own multi-line text keeps its lines
