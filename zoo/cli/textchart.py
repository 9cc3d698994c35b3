"""A bar chart of one series in the terminal, in Unicode block characters (`zoo runs show`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

BLOCKS = " ▁▂▃▄▅▆▇█"


def _columns(values: Sequence[float], width: int) -> list[float]:
    """At most `width` columns: the values themselves, or the means of equal runs of them."""
    if len(values) <= width:
        return list(values)
    size = len(values) / width
    return [
        sum(v / len(chunk) for v in chunk)  # no overflow to inf for values near the float limit
        for i in range(width)
        if (chunk := values[math.floor(i * size) : max(math.floor((i + 1) * size), math.floor(i * size) + 1)])
    ]


def bar_chart(
    title: str,
    epochs: Sequence[int],
    values: Sequence[float],
    best: int | None = None,
    height: int = 6,
    width: int = 36,
) -> list[str]:
    """Lines of a chart of `values` by epoch: bars scaled between their minimum and maximum, `best` marked ▲; more
    epochs than `width` columns are shown as the means of equal runs of epochs."""
    if not values:
        return [f"{title}: no values"]
    columns = _columns(values, width)
    step = len(values) / len(columns)
    low, high = min(columns), max(columns)
    span = (high / 2 - low / 2) or 1.0  # halves: the span of -1e308 and 1e308 is no float
    levels = [round((v / 2 - low / 2) / span * (height - 1) * 8) + 8 for v in columns]  # the lowest bar still shows
    labels = [f"{high:.4g}", *[""] * (height - 2), f"{low:.4g}"] if height > 1 else [f"{high:.4g}"]
    pad = max(len(label) for label in labels)
    lines = [title]
    for row in range(height):
        floor = (height - 1 - row) * 8
        cells = "".join(BLOCKS[min(8, max(0, level - floor))] * 2 for level in levels)
        lines.append(f"{labels[row]:>{pad}} │{cells}")
    marks = [" "] * (2 * len(columns))
    if best in epochs:
        column = min(len(columns) - 1, int(list(epochs).index(best) / step))
        marks[2 * column] = "▲"
    first, last = str(epochs[0]), str(epochs[-1])
    axis = first if len(epochs) == 1 else first + " " * max(1, 2 * len(columns) - len(first) - len(last)) + last
    lines.append(f"{'':>{pad}} └{'─' * 2 * len(columns)}")
    lines.append(f"{'':>{pad}}  {axis}  epoch" + (f"   ▲ best: epoch {best}" if best in epochs else ""))
    if best in epochs:
        lines.insert(-1, f"{'':>{pad}}  {''.join(marks).rstrip()}")
    return lines
