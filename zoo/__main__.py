"""`python -m zoo` runs the CLI."""

from zoo.cli import main

main()
