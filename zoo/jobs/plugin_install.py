"""`zoo plugins install/uninstall`: pip into zoo's own environment (the interpreter running zoo), as llm does."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from zoo.core.errors import UsageError, ZooError

# The core's distribution: `zoo` on PyPI is another project, so zoo ships as zoo-core.
CORE = "zoo-core"


def check_requirement(text: str) -> str:
    """A distribution name, optionally with extras and a version (`zoo-foo`, `zoo-foo>=1.2`); nothing else."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        requirement = None
    odd = text.startswith("-") or any(c.isspace() or not c.isprintable() for c in text)
    if requirement is None or requirement.url or requirement.marker or odd:
        raise UsageError(
            f"'{text}' is not a distribution name (letters, digits, '.', '_' and '-', such as zoo-foo, "
            "optionally with a version: zoo-foo>=1.2). For a local checkout use --editable PATH."
        )
    return text


def _pip(*args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", *args], check=False)
    if proc.returncode != 0:
        raise ZooError(f"pip {args[0]} failed (exit {proc.returncode}); its messages are above")


def install(names: list[str], editable: str | None = None, upgrade: bool = False) -> None:
    """pip install each name (and an editable checkout) into zoo's environment."""
    if not names and editable is None:
        raise UsageError("name at least one plugin distribution to install, or --editable PATH")
    args = [check_requirement(n) for n in names]
    if editable is not None:
        path = Path(editable)
        if not (path / "pyproject.toml").is_file() and not (path / "setup.py").is_file():
            raise UsageError(f"--editable {path} is not a Python project (no pyproject.toml or setup.py)")
        args += ["--editable", str(path)]
    with tempfile.TemporaryDirectory(prefix="zoo-install-") as tmp:
        _pip("install", *(["--upgrade"] if upgrade else []), *_keep_core(Path(tmp)), *args)


def _keep_core(folder: Path) -> list[str]:
    """A pip constraint holding the running core at its version, so that installing a plugin never swaps zoo itself
    underneath it (a plugin that needs another zoo-core fails with pip's message instead)."""
    from importlib import metadata

    try:
        version = metadata.version(CORE)
    except metadata.PackageNotFoundError:  # zoo run from a source tree, not installed
        return []
    constraint = folder / "core.txt"
    constraint.write_text(f"{CORE}=={version}\n", encoding="utf-8")
    return ["--constraint", str(constraint)]


def uninstall(names: list[str]) -> None:
    """pip uninstall each distribution from zoo's environment, without asking."""
    if not names:
        raise UsageError("name at least one plugin distribution to uninstall")
    for name in names:
        check_requirement(name)
        from packaging.utils import canonicalize_name

        if canonicalize_name(name) in (CORE, "zoo"):
            raise UsageError(f"zoo cannot uninstall itself: run 'pip uninstall {CORE}' instead")
    _pip("uninstall", "--yes", *names)
