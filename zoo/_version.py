"""zoo's version: the one place it is written (pyproject reads it as a dynamic version)."""

__version__ = "0.1.0"
