"""Floor 7, on the jobs: the conformance kit for plugins. `check_plugin("name")` (or `zoo plugin check NAME`) runs
every check; in a plugin's own tests, `assert_conformant("name", tmp_path)` fails with each broken check's message."""

from zoo.testing.conformance import assert_conformant, check_plugin
from zoo.testing.report import Check, Report

__all__ = ["Check", "Report", "assert_conformant", "check_plugin"]
