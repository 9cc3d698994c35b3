"""`zoo plugin new NAME`: a working plugin distribution (a model, a dataset adapter, a recipe, tests, a README)."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from string import Template

from zoo.core.errors import UsageError

NAME_RE = re.compile(r"[a-z][a-z0-9_]*")


def names(name: str) -> dict[str, str]:
    """The plugin's names: entry point `name`, distribution `zoo-name`, module `zoo_name`."""
    if not NAME_RE.fullmatch(name):
        raise UsageError(f"plugin name '{name}' is invalid: lowercase letters, digits and '_', starting with a letter")
    if name == "core":
        raise UsageError("plugin name 'core' is taken: zoo-core is zoo's own distribution. Choose another name.")
    return {"name": name, "dist": f"zoo-{name.replace('_', '-')}", "module": f"zoo_{name}"}


def render(name: str) -> dict[str, str]:
    """Relative path -> text of every file of the new plugin."""
    values = names(name)
    root = files("zoo") / "templates" / "plugin"
    out = {}
    for template, target in (
        ("pyproject.toml.tmpl", "pyproject.toml"),
        ("README.md.tmpl", "README.md"),
        ("module/__init__.py.tmpl", f"{values['module']}/__init__.py"),
        ("module/models.py.tmpl", f"{values['module']}/models.py"),
        ("module/data.py.tmpl", f"{values['module']}/data.py"),
        ("module/recipe.py.tmpl", f"{values['module']}/recipe.py"),
        ("tests/test_plugin.py.tmpl", f"tests/test_{name}.py"),
    ):
        out[target] = Template(root.joinpath(template).read_text("utf-8")).substitute(values)
    return out


def new_plugin(name: str, parent: str | Path = ".") -> Path:
    """Write the plugin into `parent/zoo-<name>` (which must not exist yet) and return that folder."""
    folder = Path(parent) / names(name)["dist"]
    if folder.exists():
        raise UsageError(f"{folder} already exists: choose another name or --dir")
    rendered = render(name)
    tmp = folder.with_name(f".{folder.name}.tmp")
    if tmp.exists():
        raise UsageError(f"{tmp} is in the way (left by an interrupted run?): remove it")
    for path, text in rendered.items():
        target = tmp / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    tmp.rename(folder)  # all files appear at once
    return folder
