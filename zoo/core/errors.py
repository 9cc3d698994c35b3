"""The errors zoo raises on purpose: each carries a one-line message and the CLI exit code."""

from __future__ import annotations

import contextlib
import difflib
import sys
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

from zoo.core.text import printable


class ZooError(Exception):
    """A failure zoo explains to the user; exit code 1 (a runtime failure)."""

    exit_code = 1

    def __init__(self, *args: object) -> None:
        # Raised in a DataLoader worker, torch re-raises it in the main process as type(exc)(text) where the
        # text holds the worker's whole traceback; the user's message is what follows the class name at its end.
        if len(args) == 1 and isinstance(args[0], str) and "\nOriginal Traceback" in args[0]:
            name = f"{type(self).__module__}.{type(self).__qualname__}: "
            start = args[0].rfind(name)
            if start >= 0:
                args = (args[0][start + len(name) :].strip(),)
        super().__init__(*args)


class UsageError(ZooError):
    """The user asked for something that cannot be: bad name, flag or file; exit code 2."""

    exit_code = 2


class CatalogError(UsageError):
    """A catalog file (registry.toml, ZOO_REGISTRY, a plugin's catalog) is malformed."""


class PluginError(ZooError):
    """A plugin failed to load and ZOO_STRICT_PLUGINS=1 asked for that to be fatal."""


class UnknownNameError(UsageError):
    """A model, dataset, recipe or weights name that nothing registers."""

    def __init__(self, kind: str, name: str, known: Iterable[str], hint: str = "") -> None:
        close = difflib.get_close_matches(name, sorted(set(known)), n=3, cutoff=0.6)
        message = f"unknown {kind} '{name}'."
        if close:
            message += " Did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
        message += " " + (hint or f"Run 'zoo list' to see the {kind}s zoo knows.")
        super().__init__(message)
        self.name = name
        self.suggestions = close


class ZooWarning(UserWarning):
    """Something the user should know that does not stop the command (a plugin skipped, a cache rebuilt).

    zoo's one warnings channel: Python shows these to `import zoo` users like any warning; the CLI renders each
    once as `warning: ...` on stderr.
    """


def warn(message: str, stacklevel: int = 2) -> None:
    """Emit a ZooWarning where the problem arises (`stacklevel` as for warnings.warn, from the caller)."""
    warnings.warn(message, ZooWarning, stacklevel=stacklevel + 1)


@contextlib.contextmanager
def shown_once() -> Iterator[None]:
    """Inside: each distinct ZooWarning is written once to stderr as `warning: message` (the CLI's rendering, and
    the training workers'); other warnings show as Python shows them."""
    seen: set[str] = set()
    python_show = warnings.showwarning

    def show(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        if not issubclass(category, ZooWarning):
            python_show(message, category, filename, lineno, file, line)
        elif str(message) not in seen:
            seen.add(str(message))
            sys.stderr.write(f"warning: {printable(str(message), keep_newlines=False)}\n")

    with warnings.catch_warnings():
        warnings.simplefilter("always", ZooWarning)  # a reloaded registry warns again; `seen` keeps it to once
        warnings.showwarning = show
        yield
