"""What a conformance run reports: one `Check` per thing checked, gathered in a `Report` by a `Runner`."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Check:
    """One check of one thing in one plugin."""

    check: str
    plugin: str
    subject: str
    ok: bool
    message: str = ""
    fix: str = ""
    #: the check does not apply (a recipe that gives no example inputs is not exportable): it passes, marked so
    skipped: bool = False

    def line(self) -> str:
        mark = "FAIL" if not self.ok else "skip" if self.skipped else "ok  "
        text = f"{mark} {self.check} [{self.plugin}{': ' + self.subject if self.subject else ''}]"
        if self.message:
            text += f": {self.message}"
        if self.fix and (not self.ok or self.skipped):
            text += f" Fix: {self.fix}"
        return text


@dataclass
class Report:
    plugin: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def skipped(self) -> list[Check]:
        return [c for c in self.checks if c.skipped]

    def summary(self) -> str:
        return "\n".join(c.line() for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"plugin": self.plugin, "ok": self.ok, "checks": [c.__dict__ for c in self.checks]}


class CheckFailed(Exception):
    """A check's failure: what went wrong and what to fix."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message, self.fix = message, fix


class CheckSkipped(CheckFailed):
    """The check does not apply to this plugin, which is within the contract: why, and how to make it apply."""


class Noted(str):
    """What a passing check returns to show one line after its mark (the export's parity figures)."""


def describe_error(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" (at {Path(where.filename).name}:{where.lineno})" if where else ""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}{at}"


class Runner:
    def __init__(self, plugin: str, work: Path) -> None:
        self.report, self.work = Report(plugin), work

    def run(self, check: str, subject: str, fix: str, body: Callable[[], Any]) -> Any:
        """Run one check; an exception fails it with `fix` unless it is a CheckFailed with its own."""
        plugin = self.report.plugin
        try:
            result = body()
        except CheckSkipped as skipped:
            self.report.checks.append(Check(check, plugin, subject, True, skipped.message, skipped.fix, skipped=True))
            return None
        except CheckFailed as failed:
            self.report.checks.append(Check(check, plugin, subject, False, failed.message, failed.fix))
            return None
        except Exception as exc:
            self.report.checks.append(Check(check, plugin, subject, False, describe_error(exc), fix))
            return None
        note = str(result) if isinstance(result, Noted) else ""
        self.report.checks.append(Check(check, plugin, subject, True, note))
        return result if result is not None else True
