"""One schema per document zoo reads (a run's config.json, metrics, an index, a foreign repo's config), checked where
it is read: types and ranges, so a damaged or hostile file fails with one line naming the file and the field.

A schema is built from a few rules: `Number`, `Text`, `Flag`, `ListOf`, `MapOf`, `Fields`, `Maybe`, `OneOf` and
`ANY`. `validate(document, rule, where)` returns the document unchanged or raises `DocumentError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zoo.core.errors import UsageError
from zoo.core.limits import Interval
from zoo.core.text import printable


class DocumentError(UsageError):
    """A file zoo reads holds a value of the wrong type or out of range; the message names the file and field."""


class Invalid(Exception):
    """Raised inside the rules: where in the document (`path`) and why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path, self.reason = path, reason


class Rule:
    """A check of one value; `check` raises Invalid."""

    def check(self, value: Any, path: str) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


def shown(value: Any) -> str:
    """A value as a message shows it: short, printable, a list or mapping by its kind."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        return "a larger integer"
    if isinstance(value, (dict, list)):
        return f"a {'list' if isinstance(value, list) else 'mapping'}"
    text = repr(value)
    return printable(text if len(text) <= 60 else text[:57] + "...", keep_newlines=False)


@dataclass(frozen=True)
class Number(Rule):
    """A finite number (never a bool) in `range`, an interval written as in zoo.core.limits: "[0, 1)", "(0, inf)"."""

    range: str = "(-inf, inf)"
    integer: bool = False

    def check(self, value: Any, path: str) -> None:
        ok_type = isinstance(value, int) if self.integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok_type or not Interval.parse(self.range).contains(value):
            raise Invalid(path, f"must be {self.describe()}, got {shown(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise Invalid(path, f"must be {self.describe()}, got {shown(value)}")

    def describe(self) -> str:
        interval = Interval.parse(self.range)
        if math.isinf(interval.low) and math.isinf(interval.high):
            return "an integer" if self.integer else "a finite number"
        return interval.describe(self.integer)


@dataclass(frozen=True)
class Text(Rule):
    """A string of at most `max_length` characters, one of `choices` when given."""

    max_length: int = 4096
    choices: tuple[str, ...] = ()

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, str):
            raise Invalid(path, f"must be {self.describe()}, got {shown(value)}")
        if len(value) > self.max_length:
            raise Invalid(path, f"must be at most {self.max_length} characters, got {len(value)}")
        if self.choices and value not in self.choices:
            raise Invalid(path, f"must be {self.describe()}, got {shown(value)}")

    def describe(self) -> str:
        return "one of " + ", ".join(self.choices) if self.choices else "a string"


@dataclass(frozen=True)
class Flag(Rule):
    """true or false."""

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, bool):
            raise Invalid(path, f"must be true or false, got {shown(value)}")

    def describe(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class _Any(Rule):
    def check(self, value: Any, path: str) -> None:  # noqa: ARG002 (accepts everything)
        return None

    def describe(self) -> str:
        return "anything"


ANY: Rule = _Any()


@dataclass(frozen=True)
class Maybe(Rule):
    """null, or a value `rule` accepts."""

    rule: Rule

    def check(self, value: Any, path: str) -> None:
        if value is not None:
            self.rule.check(value, path)

    def describe(self) -> str:
        return f"null or {self.rule.describe()}"


@dataclass(frozen=True)
class OneOf(Rule):
    """A value that one of `rules` accepts (tried in order)."""

    rules: tuple[Rule, ...]

    def check(self, value: Any, path: str) -> None:
        for rule in self.rules:
            try:
                rule.check(value, path)
                return
            except Invalid:
                continue
        raise Invalid(path, f"must be {self.describe()}, got {shown(value)}")

    def describe(self) -> str:
        return " or ".join(rule.describe() for rule in self.rules)


@dataclass(frozen=True)
class ListOf(Rule):
    """A list whose items `item` accepts; `length` fixes its length, `max_length` caps it."""

    item: Rule = ANY
    max_length: int = 1_000_000
    length: int | None = None
    min_length: int = 0

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            raise Invalid(path, f"must be {self.describe()}, got {shown(value)}")
        if self.length is not None and len(value) != self.length:
            raise Invalid(path, f"must hold {self.length} items, got {len(value)}")
        if not self.min_length <= len(value) <= self.max_length:
            raise Invalid(path, f"must hold {self.min_length} to {self.max_length} items, got {len(value)}")
        for i, item in enumerate(value):
            self.item.check(item, f"{path}[{i}]")

    def describe(self) -> str:
        return f"a list (each item {self.item.describe()})" if self.item is not ANY else "a list"


@dataclass(frozen=True)
class MapOf(Rule):
    """A mapping from string keys (`key` checks them) to values `value` accepts."""

    value: Rule = ANY
    key: Rule = field(default_factory=Text)
    max_length: int = 1_000_000

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            raise Invalid(path, f"must be {self.describe()}, got {shown(value)}")
        if len(value) > self.max_length:
            raise Invalid(path, f"must hold at most {self.max_length} entries, got {len(value)}")
        for key, item in value.items():
            where = _join(path, str(key))
            self.key.check(key, f"{where} (a key)")
            self.value.check(item, where)

    def describe(self) -> str:
        return f"a mapping (each value {self.value.describe()})" if self.value is not ANY else "a mapping"


@dataclass(frozen=True)
class Fields(Rule):
    """A mapping with named fields: `required` ones must be there; fields not named are let through."""

    fields: Mapping[str, Rule]
    required: tuple[str, ...] = ()

    def check(self, value: Any, path: str) -> None:
        if not isinstance(value, Mapping):
            raise Invalid(path, f"must be {self.describe()}, got {shown(value)}")
        for name in self.required:
            if name not in value:
                raise Invalid(_join(path, name), "is missing")
        for name, rule in self.fields.items():
            if name in value:
                rule.check(value[name], _join(path, name))

    def describe(self) -> str:
        return "a mapping"


def _join(path: str, name: str) -> str:
    name = printable(name if len(name) <= 60 else name[:57] + "...", keep_newlines=False)
    return f"{path}.{name}" if path else name


def validate(document: Any, rule: Rule, where: str, hint: str = "") -> Any:
    """`document` unchanged if `rule` accepts it; otherwise DocumentError: "WHERE: field 'a.b' must be ... [hint]"."""
    try:
        rule.check(document, "")
    except Invalid as bad:
        subject = f"field '{bad.path}'" if bad.path else "the document"
        message = f"{where}: {subject} {bad.reason}"
        raise DocumentError(f"{message}. {hint}" if hint else message) from None
    return document
