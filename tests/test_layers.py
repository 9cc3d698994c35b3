"""Layers point one way: only the facade's two users (zoo/__init__.py, zoo/cli.py) reach zoo.api."""

import ast
from pathlib import Path

import zoo

PACKAGE = Path(zoo.__file__).parent
ALLOWED = {"__init__.py", "cli.py"}
# Names that `import zoo` gives from zoo.api: using them (zoo.create_model) is using the facade.
FACADE_NAMES = {name for name, module in zoo._API.items() if module == "zoo.api"}


def facade_uses(source: str) -> list[str]:
    """Each place `source` imports zoo.api or uses it: directly, inside a function, or through `zoo.<name>`."""
    tree = ast.parse(source)
    found: list[str] = []
    package_names = set()  # what `import zoo` (or `import zoo as z`) binds
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "zoo.api" or alias.name.startswith("zoo.api."):
                    found.append(f"line {node.lineno}: import {alias.name}")
                elif alias.name == "zoo":
                    package_names.add(alias.asname or "zoo")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and (module == "zoo.api" or module.startswith("zoo.api.")):
                found.append(f"line {node.lineno}: from {module} import ...")
            elif (node.level == 0 and module == "zoo") or (node.level == 1 and not module):
                for alias in node.names:
                    if alias.name == "api" or alias.name in FACADE_NAMES:
                        found.append(f"line {node.lineno}: from {module or '.'} import {alias.name}")
            elif node.level == 1 and module == "api":
                found.append(f"line {node.lineno}: from .api import ...")
        elif isinstance(node, ast.Constant) and node.value == "zoo.api":
            found.append(f"line {node.lineno}: 'zoo.api' by name")
    for node in ast.walk(tree):
        on_package = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        if on_package and node.value.id in package_names and (node.attr == "api" or node.attr in FACADE_NAMES):
            found.append(f"line {node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_the_checker_sees_every_way_in():
    assert facade_uses("from zoo.api import get_registry")
    assert facade_uses("def f():\n    from zoo.api import model_info\n")
    assert facade_uses("import zoo.api")
    assert facade_uses("from zoo import api")
    assert facade_uses("from zoo import create_model")
    assert facade_uses("def f():\n    import zoo\n    return zoo.create_model('cnn')\n")
    assert facade_uses("import zoo as z\nz.model_info('cnn')")
    assert facade_uses("importlib.import_module('zoo.api')")
    assert not facade_uses("import zoo\nzoo.__version__\nfrom zoo.registry import get_registry")


def test_only_the_cli_and_the_package_import_the_facade():
    offenders = {
        str(path.relative_to(PACKAGE)): uses
        for path in sorted(PACKAGE.rglob("*.py"))
        if str(path.relative_to(PACKAGE)) not in ALLOWED
        for uses in [facade_uses(path.read_text("utf-8"))]
        if uses
    }
    assert offenders == {}, f"these modules reach up to zoo.api: {offenders}"


def test_the_facades_names_still_resolve():
    """Everything `zoo` re-exports is importable from where it says, so the lazy table cannot rot."""
    for name, module in zoo._API.items():
        assert getattr(zoo, name) is getattr(__import__(module, fromlist=[name]), name)
