"""Text from repositories, catalogs and files, made safe to show on a terminal."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str, keep_newlines: bool = True) -> str:
    """`text` with control characters (ANSI escapes, carriage returns, bells) shown as `\\x1b`-style escapes."""
    if not keep_newlines:
        text = text.replace("\n", "\\n").replace("\t", "\\t")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
