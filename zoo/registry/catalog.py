"""Catalog files (registry.toml, ZOO_REGISTRY files, plugins' catalogs): loading and validation.

Every error names the file, the line when it can be found, the key, and what was expected.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from pathlib import Path
from typing import Any

from zoo.core.errors import CatalogError
from zoo.core.paths import is_repo_id
from zoo.plugin.weights_entry import WeightsEntry

SHA256_RE = re.compile(r"sha256:[0-9a-f]{64}")
ENTRY_NAME_RE = re.compile(r"(?:[a-z0-9][a-z0-9_\-]*:)?([a-z0-9][a-z0-9_\-]*)\.([a-z0-9][a-z0-9_\-]*)")
MODEL_RE = re.compile(r"(?:[a-z0-9][a-z0-9_\-]*:)?[a-z0-9][a-z0-9_\-]*")
REQUIRED = ("model", "source", "revision")
OPTIONAL = ("task", "license", "description", "default", "files", "metrics", "preprocessing")


class _Locator:
    """Finds the line of an entry or key in TOML text (tomllib reports lines only for syntax errors)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def _header(self, name: str, sub: str | None) -> int | None:
        wanted = [f'weights."{name}"', f"weights.'{name}'", f"weights.{name}"]
        if sub:
            wanted = [f"{w}.{sub}" for w in wanted]
        for i, line in enumerate(self.lines):
            stripped = line.strip()
            if stripped.startswith("[") and stripped.strip("[]").replace(" ", "") in wanted:
                return i
        return None

    def line(self, name: str, key: str | None = None, sub: str | None = None) -> int | None:
        start = self._header(name, sub)
        if start is None:
            return None
        if key is None:
            return start + 1
        key_re = re.compile(rf"""^\s*["']?{re.escape(key)}["']?\s*=""")
        for i in range(start + 1, len(self.lines)):
            if self.lines[i].strip().startswith("["):
                break
            if key_re.match(self.lines[i]):
                return i + 1
        sub_header = self._header(name, key)
        return sub_header + 1 if sub_header is not None else start + 1


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        dict: "a table",
        list: "an array",
    }.get(type(value), type(value).__name__)


class _Validator:
    def __init__(self, origin: str, text: str) -> None:
        self.origin = origin
        self.locate = _Locator(text)

    def fail(self, name: str | None, key: str | None, message: str, sub: str | None = None) -> CatalogError:
        line = self.locate.line(name, key, sub) if name else None
        where = f"{self.origin}:{line}" if line else self.origin
        what = f'weights."{name}"' if name else "the catalog"
        if key:
            what += f".{sub}.{key}" if sub else f".{key}"
        return CatalogError(f"{where}: {what}: {message}")

    def entry(self, name: str, table: Any) -> WeightsEntry:
        if not isinstance(table, dict):
            raise self.fail(name, None, f"expected a table of weights fields, got {_type_name(table)}")
        match = ENTRY_NAME_RE.fullmatch(name)
        if not match:
            raise self.fail(
                name,
                None,
                "the name must be 'arch.tag' (lowercase, digits, '_' or '-'), like 'resnet18.tv_in1k'",
            )
        for key in table:
            if key not in REQUIRED + OPTIONAL:
                close = difflib.get_close_matches(key, REQUIRED + OPTIONAL, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise self.fail(name, key, f"unknown key{hint} Allowed: {', '.join(REQUIRED + OPTIONAL)}")
        for key in REQUIRED:
            if key not in table:
                raise self.fail(name, None, f"missing required key '{key}'")
        for key in ("model", "source", "revision", "task", "license", "description"):
            if key in table and (not isinstance(table[key], str) or not table[key].strip()):
                raise self.fail(name, key, f"expected a non-empty string, got {_type_name(table[key])}")
        if not MODEL_RE.fullmatch(table["model"]):
            raise self.fail(
                name,
                "model",
                f"expected an architecture name like 'resnet18' or 'resnet:resnet18', got '{table['model']}'",
            )
        if table["model"].rpartition(":")[2] != match.group(1):
            raise self.fail(
                name,
                "model",
                f"the name's architecture '{match.group(1)}' differs from model '{table['model']}'",
            )
        if not is_repo_id(table["source"]):
            raise self.fail(name, "source", f"expected a Hub repo id 'org/name', got '{table['source']}'")
        if "default" in table and not isinstance(table["default"], bool):
            raise self.fail(name, "default", f"expected true or false, got {_type_name(table['default'])}")
        files = self._files(name, table.get("files", {}))
        metrics = self._metrics(name, table.get("metrics", {}))
        preprocessing = self._preprocessing(name, table.get("preprocessing", {}))
        return WeightsEntry(
            name=name,
            model=table["model"],
            source=table["source"],
            revision=table["revision"].strip(),
            origin=self.origin,
            task=table.get("task"),
            license=table.get("license"),
            description=table.get("description", ""),
            default=table.get("default", False),
            files=files,
            metrics=metrics,
            preprocessing=preprocessing,
        )

    def _files(self, name: str, files: Any) -> dict[str, str]:
        if not isinstance(files, dict):
            raise self.fail(name, "files", f'expected a table of path = "sha256:<hex>", got {_type_name(files)}')
        for path, digest in files.items():
            if not isinstance(digest, str) or not SHA256_RE.fullmatch(digest):
                raise self.fail(
                    name, path, f'expected "sha256:" and 64 lowercase hex digits, got {digest!r}', sub="files"
                )
            if path.startswith(("/", "\\")) or ".." in Path(path).parts:
                raise self.fail(name, path, "file paths must stay inside the repository", sub="files")
        return dict(files)

    def _preprocessing(self, name: str, table: Any) -> dict[str, Any]:
        """How inputs must be prepared for these weights, e.g. resize, crop, mean, std; sample_rate, normalize."""
        if not isinstance(table, dict):
            raise self.fail(name, "preprocessing", f"expected a table, got {_type_name(table)}")
        for key, value in table.items():
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, (int, float, str)) for v in values):
                raise self.fail(
                    name,
                    key,
                    f"expected a number, a string, a boolean or an array of them, got {value!r}",
                    sub="preprocessing",
                )
        return dict(table)

    def _metrics(self, name: str, metrics: Any) -> dict[str, float]:
        if not isinstance(metrics, dict):
            raise self.fail(name, "metrics", f"expected a table of name = number, got {_type_name(metrics)}")
        for key, value in metrics.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail(name, key, f"expected a number, got {_type_name(value)}", sub="metrics")
        return dict(metrics)


def parse_catalog(text: str, origin: str) -> list[WeightsEntry]:
    """Validate catalog TOML text; `origin` names it in errors (a path, or 'plugin NAME')."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        where = f"{origin}:{line.group(1)}" if line else origin
        raise CatalogError(f"{where}: invalid TOML: {exc}") from None
    validator = _Validator(origin, text)
    for key in data:
        if key != "weights":
            raise validator.fail(
                None,
                None,
                f"unknown top-level key '{key}': a catalog holds only [weights.\"arch.tag\"] tables",
            )
    weights = data.get("weights", {})
    if not isinstance(weights, dict):
        raise validator.fail(None, None, f"'weights' must be a table, got {_type_name(weights)}")
    return [validator.entry(name, table) for name, table in weights.items()]


def load_catalog(path: Any, origin: str | None = None) -> list[WeightsEntry]:
    """Read and validate one catalog file (a Path or an importlib.resources Traversable)."""
    origin = origin or str(path)
    try:
        text = path.read_text(encoding="utf-8") if hasattr(path, "read_text") else Path(path).read_text("utf-8")
    except FileNotFoundError:
        raise CatalogError(f"{origin}: catalog file not found. Check the path (ZOO_REGISTRY?).") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{origin}: cannot read the catalog: {exc}") from None
    return parse_catalog(text, origin)
