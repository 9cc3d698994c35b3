"""Floor 8: the `zoo` command line (Typer + Rich). Each command parses, calls the Python API and renders."""

from zoo.cli.app import app, main

__all__ = ["app", "main"]
