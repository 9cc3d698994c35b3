"""Writing catalog entries (publish --register, zoo pin) with tomlkit, keeping the file's comments and order."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit

from zoo.core.atomic import temp_name, write_text
from zoo.core.errors import UsageError
from zoo.registry.catalog import parse_catalog

FIELD_ORDER = ("model", "source", "revision", "task", "license", "description", "default")


def entry_table(*, files: Mapping[str, str], metrics: Mapping[str, float], **fields: Any) -> dict[str, Any]:
    """One catalog entry as plain data, in the schema's key order; None fields are left out."""
    table: dict[str, Any] = {k: fields[k] for k in FIELD_ORDER if fields.get(k) is not None}
    if files:
        table["files"] = dict(sorted(files.items()))
    if metrics:
        table["metrics"] = dict(sorted(metrics.items()))
    if fields.get("preprocessing"):
        table["preprocessing"] = dict(fields["preprocessing"])
    return table


def _toml_entry(table: Mapping[str, Any]) -> Any:
    entry = tomlkit.table()
    for key, value in table.items():
        if isinstance(value, dict):
            sub = tomlkit.table()
            sub.update(value)
            entry.add(key, sub)
        else:
            entry.add(key, value)
    return entry


def _with_entry(doc: Any, name: str, table: Mapping[str, Any]) -> Any:
    if "weights" not in doc:
        doc.add("weights", tomlkit.table(is_super_table=True))
    doc["weights"][name] = _toml_entry(table)
    return doc


def render_entry(name: str, table: Mapping[str, Any]) -> str:
    """The entry as TOML text, ready to paste into a registry.toml."""
    return tomlkit.dumps(_with_entry(tomlkit.document(), name, table)).strip() + "\n"


def _updated_text(path: Path, name: str, table: Mapping[str, Any]) -> tuple[Path, str]:
    """The file to write (through links) and its new text, checked to be a catalog zoo reads."""
    real = Path(os.path.realpath(path))  # registry.toml may be reached through a link; write the file itself
    if real.is_dir():
        raise UsageError(f"{path} is a folder, not a catalog file: name a registry.toml file")
    if not real.parent.is_dir():
        raise UsageError(f"cannot write the catalog {path}: the folder {real.parent} does not exist")
    try:
        text = real.read_text("utf-8") if real.exists() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the catalog {path}: {exc}") from None
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise UsageError(f"{path}: cannot add '{name}' to an invalid TOML file ({exc})") from None
    parse_catalog(text, str(path))  # an existing catalog must be valid before zoo adds to it
    new_text = tomlkit.dumps(_with_entry(doc, name, table))
    parse_catalog(new_text, str(path))  # never write a catalog zoo would refuse to read
    return real, new_text


def check_upsert(path: Path, name: str, table: Mapping[str, Any]) -> None:
    """Everything `upsert_entry` needs, checked without changing the file: readable, valid, its folder writable."""
    real, _ = _updated_text(path, name, table)
    try:
        fd, probe = tempfile.mkstemp(prefix=temp_name(), dir=real.parent)
    except OSError as exc:
        raise UsageError(f"cannot write the catalog {path}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe)
    if real.exists() and not os.access(real, os.W_OK):
        raise UsageError(f"cannot write the catalog {path}: it is read-only")


def upsert_entry(path: Path, name: str, table: Mapping[str, Any]) -> Path:
    """Add or replace one entry in a catalog file, keep everything else, and check the result before writing."""
    real, new_text = _updated_text(path, name, table)
    write_text(real, new_text)
    return path
