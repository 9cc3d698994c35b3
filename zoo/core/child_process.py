"""Child interpreters zoo starts (parameter counting, conformance checks): the environment they inherit."""

from __future__ import annotations

import os
import sys


def child_env() -> dict[str, str]:
    """The environment for a child interpreter that must find the same plugins, including those found on a path
    added to sys.path at run time."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
