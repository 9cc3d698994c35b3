"""The valid range of each training setting, written as an interval ("[0, 1)", "(0, inf)") or a tuple of choices.

Numbers must also be finite: "inf" as a bound means "no upper bound", never that infinity itself is allowed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from zoo.core.errors import UsageError

_INTERVAL = re.compile(r"\s*([\[(])\s*(-?[0-9.e+\-]+|-inf)\s*,\s*(-?[0-9.e+\-]+|inf)\s*([\])])\s*")

Limit = str | tuple[str, ...]


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    low_closed: bool
    high_closed: bool

    @classmethod
    def parse(cls, text: str) -> Interval:
        match = _INTERVAL.fullmatch(text)
        if not match:
            raise ValueError(f"{text!r} is not an interval like '[0, 1)' or '(0, inf)'")
        left, low, high, right = match.groups()
        return cls(float(low), float(high), left == "[", right == "]")

    def contains(self, value: float) -> bool:
        above = value >= self.low if self.low_closed else value > self.low
        below = value <= self.high if self.high_closed else value < self.high
        return (not isinstance(value, float) or math.isfinite(value)) and above and below

    def describe(self, integer: bool) -> str:
        kind = "an integer" if integer else "a finite number"
        low = _number(self.low)
        if math.isinf(self.high):
            return f"{kind} {'>=' if self.low_closed else '>'} {low}"
        high = _number(self.high)
        return f"{kind} in {'[' if self.low_closed else '('}{low}, {high}{']' if self.high_closed else ')'}"


def _number(value: float) -> str:
    """1000000.0 -> '1000000', 0.5 -> '0.5', -inf -> '-inf'."""
    return str(int(value)) if math.isfinite(value) and value.is_integer() else f"{value:g}"


def check(name: str, value: Any, limit: Limit) -> None:
    """Refuse `value` outside `limit`, naming the setting (`name`, e.g. '--lr' or 'weight_decay') and the range."""
    if isinstance(limit, tuple):
        if str(value) not in limit:
            raise UsageError(f"{name} must be one of {', '.join(limit)}, got {value!r}")
        return
    interval = Interval.parse(limit)
    integer = isinstance(value, int)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not interval.contains(value):
        shown = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a larger integer"
        raise UsageError(f"{name} must be {interval.describe(integer)}, got {shown}")
