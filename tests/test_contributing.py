"""CONTRIBUTING.md's examples are true: code cut from the scaffold's files, a catalog zoo reads, real commands."""

import re
import shlex
import tomllib
from pathlib import Path

import pytest

from zoo.jobs.scaffold import render
from zoo.registry.catalog import parse_catalog

DOC = Path(__file__).resolve().parents[1] / "CONTRIBUTING.md"
BLOCK = re.compile(r"(?:<!-- (?P<kind>scaffold|file): (?P<path>\S+) -->\n)?```(?P<lang>\w+)\n(?P<body>.*?)```", re.S)
ROOT = DOC.parent


def blocks(kind: str = "scaffold") -> list[tuple[str | None, str, str]]:
    """(path, language, body) of each code block; the path of the file it is cut from, when it is that kind's."""
    return [
        (m["path"] if m["kind"] == kind else None, m["lang"], m["body"]) for m in BLOCK.finditer(DOC.read_text("utf-8"))
    ]


def is_excerpt(body: str, text: str) -> bool:
    """`body`'s lines appear, in order and together, among `text`'s lines."""
    lines, source = body.rstrip("\n").splitlines(), text.splitlines()
    return any(source[i : i + len(lines)] == lines for i in range(len(source) - len(lines) + 1))


def test_every_code_excerpt_is_cut_from_the_scaffold():
    files = render("tiny")
    excerpts = [(path, body) for path, lang, body in blocks() if lang in ("python", "toml") and path]
    assert len(excerpts) >= 6
    for path, body in excerpts:
        assert path in files, path
        assert is_excerpt(body, files[path]), f"CONTRIBUTING.md's excerpt of {path} no longer matches:\n{body}"
    files_cut = [(path, body) for path, lang, body in blocks("file") if path]
    assert files_cut
    for path, body in files_cut:
        assert is_excerpt(body, (ROOT / path).read_text("utf-8")), f"CONTRIBUTING.md's excerpt of {path} changed"
    checked = {body for _, body in [*excerpts, *files_cut]}
    assert all(body in checked for _, lang, body in blocks() if lang == "python")  # no Python that nothing checks


def test_the_catalog_example_is_read_by_zoos_catalog_reader():
    [example] = [body for path, lang, body in blocks() if lang == "toml" and not path]
    tomllib.loads(example)
    [entry] = parse_catalog(example, "CONTRIBUTING.md")
    assert entry.name == "tiny_mlp.toy" and entry.preprocessing == {"features": 4, "normalize": False}


def commands() -> list[list[str]]:
    out = []
    for _, lang, body in blocks():
        if lang == "console":
            for line in body.splitlines():
                if line.startswith("$ zoo "):
                    out.append(shlex.split(line[2:].split("#")[0]))
    return out


@pytest.mark.parametrize("command", commands(), ids=lambda c: " ".join(c[:3]))
def test_every_zoo_command_shown_exists(run_zoo, command):
    """`zoo plugin new ... --help` and the like: the command and each option it uses are real."""
    words = command[1:3] if command[1] in ("plugin", "plugins") else command[1:2]
    proc = run_zoo(*words, "--help")
    assert proc.returncode == 0, proc.stderr
    for option in (w.split("=")[0] for w in command if w.startswith("--")):
        assert option in proc.stdout, f"{' '.join(command)}: no option {option}"


def test_the_hook_table_and_the_import_list_name_the_whole_contract():
    """Every hook zoo calls has a row in the hook table, and everything zoo.plugin exports is in the import list."""
    import zoo.plugin

    text = DOC.read_text("utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert (
        zoo.plugin.HOOK_NAMES
        and [h for h in zoo.plugin.HOOK_NAMES if not any(r.startswith(f"| `{h}(") for r in rows)] == []
    )
    imports = text[text.index("Everything a plugin imports") : text.index("The module implements")]
    assert [name for name in zoo.plugin.__all__ if f"`{name}`" not in imports] == []
