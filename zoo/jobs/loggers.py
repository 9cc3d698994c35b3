"""Choosing a run's training loggers by name (`--logger`, ZOO_LOGGERS), refused before any work when unknown."""

from __future__ import annotations

import os
from collections.abc import Sequence

from zoo.core.errors import UnknownNameError
from zoo.plugin.specs import LoggerSpec
from zoo.registry.merged import get_registry

ENV = "ZOO_LOGGERS"


def requested(names: Sequence[str] | None) -> list[str]:
    """The logger names a run uses: `names` when given, else ZOO_LOGGERS (comma-separated); duplicates dropped."""
    if names is None:
        names = os.environ.get(ENV, "").split(",")
    return list(dict.fromkeys(n.strip() for n in names if n and n.strip()))


def check(names: Sequence[str]) -> list[LoggerSpec]:
    """Refuse unknown loggers and ones that cannot work here (a missing package) before training starts;
    return their specs."""
    loggers = get_registry().loggers
    checked = []
    for name in names:
        try:
            spec = loggers.get(name)
        except UnknownNameError:
            shown = sorted({loggers.display_name(s) for s in loggers.by_qualified.values()})
            hint = f"Loggers installed: {', '.join(shown)} (asked for by --logger or {ENV})."
            raise UnknownNameError("logger", name, shown, hint) from None
        spec.build()  # builds nothing on disk: a logger needing a package that is absent says so here
        checked.append(spec)
    return checked
