"""The conformance suite for plugins: `zoo.testing.check_plugin("name")`, or `zoo plugin check NAME`.

In a plugin's own tests, one call does it all:

    from zoo.testing import assert_conformant

    def test_conformance(tmp_path):
        assert_conformant("myplugin", tmp_path)

Each check names the plugin, what it checked and, when it fails, what to fix. Everything runs for real on the CPU:
the entry point is imported in a fresh interpreter, models are built, one training epoch runs through the
engine on the dataset's own sample (`DatasetSpec(sample=...)`), and `zoo.predict` runs on the trained run.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from zoo.core.errors import UsageError
from zoo.testing import checks
from zoo.testing.recipe_checks import recipe_checks
from zoo.testing.report import Report, Runner


def check_plugin(name: str, work_dir: str | os.PathLike[str] | None = None) -> Report:
    """Run every check on the installed plugin `name` (its entry-point name); return the report."""
    from zoo.registry.merged import get_registry

    registry = get_registry()
    info = registry.plugin_set.get(name)
    if info is None:
        known = ", ".join(sorted(p.name for p in registry.plugin_set.plugins)) or "none"
        raise UsageError(f"no installed plugin named '{name}' (installed: {known})")
    with tempfile.TemporaryDirectory(prefix="zoo-check-", dir=work_dir) as tmp:
        runner = Runner(name, Path(tmp))
        loaded = runner.run("loads", "", "", lambda: checks.loads(info))
        runner.run("no-torch-on-import", "", "", lambda: checks.no_torch_on_import(name))
        if loaded is None:
            return runner.report
        runner.run("specs", "", "", lambda: checks.specs(registry, info))
        listed = checks.listed_params(registry, info.models)  # one counting process for all of them
        for spec in info.models:
            model = runner.run(
                "build", spec.name, "make the factory build with its default kwargs", lambda s=spec: checks.build(s)
            )
            if model is not None:
                runner.run("params", spec.name, "", lambda s=spec, m=model: checks.params(listed[s.qualified_name], m))
        for dspec in info.datasets:
            if dspec.sample is not None:
                fix = "make the sample function write the files the adapter reads"
                runner.run("dataset", dspec.name, fix, lambda d=dspec: checks.dataset(d, runner.work))
        for rspec in info.recipes:
            recipe_checks(runner, registry, rspec)
        runner.run("catalog", "", "fix the catalog file as the message says", lambda: checks.catalog(registry, info))
        if registry.plugin_set.implements(name, "claim_repo"):
            runner.run("claims", "", "", lambda: checks.claims(name))
        for lspec in info.loggers:
            runner.run("logger", lspec.name, "", lambda s=lspec: checks.logger(s, runner.work))
        return runner.report


def assert_conformant(name: str, work_dir: str | os.PathLike[str] | None = None) -> Report:
    """For a plugin's tests: run check_plugin and fail with every failing check's message."""
    report = check_plugin(name, work_dir)
    if not report.ok:
        raise AssertionError(f"plugin '{name}' breaks zoo's plugin contract:\n{report.summary()}")
    return report
