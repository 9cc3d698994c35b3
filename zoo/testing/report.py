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

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        text = f"{mark} {self.check} [{self.plugin}{': ' + self.subject if self.subject else ''}]"
        if not self.ok:
            text += f": {self.message}" + (f" Fix: {self.fix}" if self.fix else "")
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

    def summary(self) -> str:
        return "\n".join(c.line() for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"plugin": self.plugin, "ok": self.ok, "checks": [c.__dict__ for c in self.checks]}


class CheckFailed(Exception):
    """A check's failure: what went wrong and what to fix."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message, self.fix = message, fix


def describe_error(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" (at {Path(where.filename).name}:{where.lineno})" if where else ""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}{at}"


class Runner:
    def __init__(self, plugin: str, work: Path) -> None:
        self.report, self.work = Report(plugin), work

    def run(self, check: str, subject: str, fix: str, body: Callable[[], Any]) -> Any:
        """Run one check; an exception fails it with `fix` unless it is a CheckFailed with its own."""
        try:
            result = body()
        except CheckFailed as failed:
            self.report.checks.append(Check(check, self.report.plugin, subject, False, failed.message, failed.fix))
            return None
        except Exception as exc:
            self.report.checks.append(Check(check, self.report.plugin, subject, False, describe_error(exc), fix))
            return None
        self.report.checks.append(Check(check, self.report.plugin, subject, True))
        return result if result is not None else True
