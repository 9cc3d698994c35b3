"""Text from repositories, catalogs and files, made safe to show on a terminal."""

from __future__ import annotations

import re

# C0 and C1 controls but newline and tab; the Unicode line and paragraph separators (str.splitlines and some
# terminals break lines there); the bidirectional overrides and isolates, which reorder what a terminal shows.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, keep_newlines: bool = True) -> str:
    """`text` with control characters (ANSI escapes, carriage returns, bells, line separators) shown as `\\x1b`-style
    escapes; with keep_newlines=False also newlines and tabs (`\\n`, `\\t`), so that `text` stays on one line."""
    if not keep_newlines:
        text = text.replace("\n", "\\n").replace("\t", "\\t")
    return _CONTROL.sub(_escape, text)
