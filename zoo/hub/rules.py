"""Schema rules (zoo.core.schema) for text a Hub sends: a repo id, one printable line, a date and time.

Text from a server ends up in tables and messages, so a newline or escape in it is refused where it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from zoo.core.paths import CONTROL_RE, is_repo_id
from zoo.core.schema import Invalid, Rule, Text, shown


@dataclass(frozen=True)
class Line(Rule):
    """A string of at most `max_length` characters without control characters (newlines, escapes, bells)."""

    max_length: int = 200

    def check(self, value: Any, path: str) -> None:
        Text(self.max_length).check(value, path)
        if CONTROL_RE.search(value):
            raise Invalid(path, f"must be {self.describe()}, got {shown(value)}")

    def describe(self) -> str:
        return "one line of text without control characters"


@dataclass(frozen=True)
class RepoId(Rule):
    """A Hub repo id, `org/name` (zoo.core.paths.is_repo_id)."""

    def check(self, value: Any, path: str) -> None:
        if not is_repo_id(value):
            raise Invalid(path, f"must be {self.describe()}, got {shown(value)}")

    def describe(self) -> str:
        return "a Hub repo id like 'org/name'"


@dataclass(frozen=True)
class Timestamp(Rule):
    """An ISO 8601 date and time with its time zone, as the Hub writes lastModified: 2024-05-01T12:00:00.000Z."""

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or len(value) > 40 or parse_timestamp(value) is None:
            raise Invalid(path, f"must be {self.describe()}, got {shown(value)}")

    def describe(self) -> str:
        return "an ISO 8601 date and time with a time zone"


def parse_timestamp(text: str) -> datetime | None:
    """The date and time `text` writes, or None when it is not ISO 8601 with a time zone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
