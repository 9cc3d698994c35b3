"""The floors point one way. import-linter checks the imports (`make lint`); these tests show that each of its
contracts breaks on a planted violation, and check what import-linter cannot see: the facade reached through
`import zoo; zoo.create_model(...)`, and modules named in strings (import_module, factory paths)."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import zoo

ROOT = Path(zoo.__file__).parent.parent
PACKAGE = ROOT / "zoo"
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["importlinter"]
CONTRACTS = {c["id"]: c for c in CONFIG["contracts"]}
PLUGIN_PACKAGES = {p.name: p for p in ROOT.glob("plugins/*/zoo_*") if (p / "__init__.py").is_file()}
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# What `import zoo` gives from zoo's floors: using it (zoo.create_model) is using the facade.
FACADE_NAMES = set(zoo._API)
MODULE_IN_STRING = re.compile(r"zoo(?:\.[a-z_]+)+(?=$|:)")


def floor_of(module: str) -> int | None:
    """The floor of a zoo module, counted from the bottom (zoo.core is 0), from the layers contract; None outside."""
    layers = list(reversed(CONTRACTS["floors"]["layers"]))
    for index, layer in enumerate(layers):
        for package in (p.strip() for p in re.split(r"[|:]", layer)):
            if module == package or module.startswith(package + "."):
                return index
    return None


def dotted(relative: Path) -> str:
    """zoo/jobs/train.py -> zoo.jobs.train; zoo/jobs/__init__.py -> zoo.jobs."""
    parts = relative.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def lint(tree: Path) -> dict[str, str]:
    """Run lint-imports with the project's contracts over the zoo and plugin packages in `tree`: name -> KEPT/BROKEN."""
    env = {**os.environ, "PYTHONPATH": str(tree)}  # ahead of the editable installs' finders
    proc = subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    verdicts = {}
    for contract in CONTRACTS.values():
        found = re.search(rf"^{re.escape(contract['name'])} (KEPT|BROKEN)$", proc.stdout, re.MULTILINE)
        assert found, proc.stdout + proc.stderr
        verdicts[contract["id"]] = found.group(1)
    return verdicts


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """zoo and the built-in plugins' packages, copied where a test may plant a violation."""
    tree = tmp_path_factory.mktemp("tree")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(PACKAGE, tree / "zoo", ignore=ignore)
    for name, path in PLUGIN_PACKAGES.items():
        shutil.copytree(path, tree / name, ignore=ignore)
    return tree


def test_the_real_tree_keeps_every_contract():
    assert lint(ROOT) == {name: "KEPT" for name in CONTRACTS}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("file", "planted", "broken"),
    [
        # the engine reaching the Hub: a floor's sibling, and the independence contract
        ("zoo/engine/state.py", "from zoo.hub import pull", {"floors", "hub-engine"}),
        # the contract reaching up to the jobs, inside a function: import-linter sees those too (and through the jobs,
        # the engine, which imports the contract, now reaches the Hub)
        ("zoo/plugin/recipe.py", "def _upward():\n    from zoo.jobs import train\n", {"floors", "hub-engine"}),
        # the store below the registry
        ("zoo/store/card.py", "from zoo.registry import merged", {"floors"}),
        # a built-in plugin importing a floor other than zoo.plugin
        ("zoo_cnn/recipe.py", "from zoo.core import errors", {"plugins"}),
    ],
)
def test_each_contract_breaks_on_a_planted_violation(tree_copy: Path, file: str, planted: str, broken: set[str]):
    target = tree_copy / file
    original = target.read_text("utf-8")
    target.write_text(original + f"\n{planted}  # noqa\n", "utf-8")
    try:
        verdicts = lint(tree_copy)
    finally:
        target.write_text(original, "utf-8")
    assert verdicts == {name: "BROKEN" if name in broken else "KEPT" for name in CONTRACTS}


def facade_uses(source: str) -> list[str]:
    """Each place `source` uses the facade: `import zoo` (or `import zoo as z`) then `zoo.<API name>`, or
    `from zoo import <API name>`."""
    tree = ast.parse(source)
    found: list[str] = []
    package_names = set()  # what `import zoo` (or `import zoo as z`) binds
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            package_names |= {alias.asname or "zoo" for alias in node.names if alias.name == "zoo"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "zoo":
            found += [f"line {node.lineno}: from zoo import {a.name}" for a in node.names if a.name in FACADE_NAMES]
    for node in ast.walk(tree):
        on_package = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        if on_package and node.value.id in package_names and node.attr in FACADE_NAMES:
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return found


def is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def modules_named_in_strings(source: str) -> list[tuple[int, str]]:
    """Every zoo module a string names (`import_module("zoo.x.y")`, a factory "zoo.x.y:Name"), with its line; a
    string shaped like one that names no module (an MLflow tag "zoo.run_dir") is not."""
    return [
        (node.lineno, found.group())
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        for found in [MODULE_IN_STRING.match(node.value.strip())]
        if found and is_module(found.group())
    ]


def test_the_checkers_see_every_way_in():
    assert facade_uses("import zoo\nzoo.create_model('cnn')")
    assert facade_uses("def f():\n    import zoo\n    return zoo.load_pretrained('x')\n")
    assert facade_uses("import zoo as z\nz.get_registry()")
    assert facade_uses("from zoo import train")
    assert not facade_uses("import zoo\nzoo.__version__\nfrom zoo.registry.merged import get_registry")
    assert modules_named_in_strings("importlib.import_module('zoo.jobs.train')") == [(1, "zoo.jobs.train")]
    assert modules_named_in_strings("LoggerSpec('x', factory='zoo.engine.trainer:Trainer')") == [
        (1, "zoo.engine.trainer")
    ]
    assert not modules_named_in_strings("'see zoo.plugin for the contract'")
    assert not modules_named_in_strings("tags = {'zoo.run_dir': folder}")


def _sources() -> list[tuple[str, Path]]:
    """Every module of zoo's floors and of the built-in plugins, by module name."""
    found = [(p.relative_to(ROOT), p) for p in PACKAGE.rglob("*.py")]
    found += [(p.relative_to(pkg.parent), p) for pkg in PLUGIN_PACKAGES.values() for p in pkg.rglob("*.py")]
    return [(dotted(relative), path) for relative, path in sorted(found)]


def test_only_the_cli_uses_the_facade():
    offenders = {
        name: uses
        for name, path in _sources()
        if name != "zoo" and not name.startswith("zoo.cli")
        for uses in [facade_uses(path.read_text("utf-8"))]
        if uses
    }
    assert offenders == {}, f"these modules reach up to the facade `import zoo`: {offenders}"


def test_strings_name_no_module_of_a_higher_floor():
    """A floor may name, in a string, only modules of its own floor or below; a plugin only zoo.plugin."""
    offenders = []
    for name, path in _sources():
        if name == "zoo":  # the facade's lazy table names every floor, as it should
            continue
        for line, named in modules_named_in_strings(path.read_text("utf-8")):
            if name.startswith("zoo."):
                here, there = floor_of(name), floor_of(named)
                upward = here is not None and there is not None and there > here
            else:
                upward = not (named == "zoo.plugin" or named.startswith("zoo.plugin."))
            if upward:
                offenders.append(f"{name}:{line} names {named}")
    assert offenders == []


def test_every_module_sits_on_a_floor():
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py", "_version.py"))
    assert loose == []
    assert all(floor_of(f"zoo.{p.name}") is not None for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())


def test_the_facades_names_still_resolve():
    """Everything `zoo` re-exports is importable from where it says, so the lazy table cannot rot."""
    for name, module in zoo._API.items():
        assert getattr(zoo, name) is getattr(__import__(module, fromlist=[name]), name)
