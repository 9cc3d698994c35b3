"""Reading ratings in the real MovieLens layouts, RecBole's atomic files, or any CSV/TSV with a column mapping.

Every malformed line is reported with its file and line number. Duplicate (user, item) pairs keep the latest
rating (by timestamp, else the later line) and are counted in a warning.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from zoo.plugin import UsageError


@dataclass
class Ratings:
    """Raw interactions as read, with item titles where the dataset has them."""

    users: list[str] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    ratings: list[float] = field(default_factory=list)
    timestamps: list[int] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    source: str = ""


def _number(text: str, path: Path, line: int, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{path}:{line}: {what} '{text:.40}' is not a number") from None


def _rows(path: Path, sep: str, encoding: str) -> list[tuple[int, list[str]]]:
    try:
        text = path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not {encoding} text ({exc})") from None
    if sep == "::":
        return [(i, line.split("::")) for i, line in enumerate(text.splitlines(), 1) if line.strip()]
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    try:
        return [(i, row) for i, row in enumerate(reader, 1) if row and any(c.strip() for c in row)]
    except csv.Error as exc:  # a field over csv's size limit, a NUL byte, an unclosed quote
        raise UsageError(f"{path}:{reader.line_num}: not a readable CSV/TSV line ({exc})") from None


def read_table(
    path: Path,
    sep: str,
    columns: dict[str, str | int],
    header: bool,
    encoding: str = "utf-8",
    rating_range: tuple[float, float] = (0.5, 5.0),
) -> Ratings:
    """Read user, item, rating[, timestamp] columns (given by header name or position) into Ratings."""
    rows = _rows(path, sep, encoding)
    if header:
        if not rows:
            raise UsageError(f"{path} is empty: expected a header line and ratings")
        names = [c.strip() for c in rows[0][1]]
        positions = {}
        for key, column in columns.items():
            if isinstance(column, int):
                positions[key] = column
            elif column in names:
                positions[key] = names.index(column)
            else:
                raise UsageError(f"{path}: no column '{column}' for {key}; the header has: {', '.join(names)}")
        rows = rows[1:]
    else:
        positions = {key: int(column) for key, column in columns.items()}
    if not rows:
        raise UsageError(f"{path} holds no ratings")
    out = Ratings(source=str(path))
    width = max(positions.values()) + 1
    low, high = rating_range
    for line, row in rows:
        if len(row) < width:
            raise UsageError(f"{path}:{line}: expected at least {width} fields, got {len(row)}: {sep.join(row)!r:.80}")
        rating = _number(row[positions["rating"]].strip(), path, line, "rating")
        if not low <= rating <= high:
            raise UsageError(
                f"{path}:{line}: rating {rating:g} is outside {low:g}..{high:g} (set rating_min/"
                "rating_max if your scale differs)"
            )
        out.users.append(row[positions["user"]].strip())
        out.items.append(row[positions["item"]].strip())
        out.ratings.append(rating)
        if "timestamp" in positions:
            stamp = _number(row[positions["timestamp"]].strip(), path, line, "timestamp")
            if not math.isfinite(stamp):
                raise UsageError(f"{path}:{line}: timestamp '{row[positions['timestamp']].strip()}' is not a time")
            out.timestamps.append(int(stamp))
    return _dedupe(out)


def _dedupe(r: Ratings) -> Ratings:
    """Keep one rating per (user, item): the latest by timestamp, else the later line."""
    latest: dict[tuple[str, str], int] = {}
    for i, key in enumerate(zip(r.users, r.items, strict=True)):
        j = latest.get(key)
        if j is None or not r.timestamps or r.timestamps[i] >= r.timestamps[j]:
            latest[key] = i
    if len(latest) == len(r.users):
        return r
    keep = sorted(latest.values())
    r.warnings.append(f"{len(r.users) - len(keep)} duplicate (user, item) rating(s) in {r.source}: kept the latest")
    r.users = [r.users[i] for i in keep]
    r.items = [r.items[i] for i in keep]
    r.ratings = [r.ratings[i] for i in keep]
    if r.timestamps:
        r.timestamps = [r.timestamps[i] for i in keep]
    return r


def _titles(path: Path, sep: str, id_col: int, title_col: int, header: bool, encoding: str) -> dict[str, str]:
    if not path.is_file():
        return {}
    rows = _rows(path, sep, encoding)[1 if header else 0 :]
    return {row[id_col].strip(): row[title_col].strip() for _, row in rows if len(row) > max(id_col, title_col)}


def read_movielens(folder: Path, rating_range: tuple[float, float] = (0.5, 5.0)) -> Ratings:
    """ml-100k (u.data, u.item), ml-1m (ratings.dat, movies.dat), ml-latest (ratings.csv, movies.csv), RecBole."""
    if folder.is_file():
        folder, only = folder.parent, folder.name
    else:
        only = None
    inter = sorted(folder.glob("*.inter"))
    candidates = [
        (
            "u.data",
            lambda p: read_table(
                p, "\t", {"user": 0, "item": 1, "rating": 2, "timestamp": 3}, False, rating_range=rating_range
            ),
            lambda: _titles(folder / "u.item", "|", 0, 1, False, "latin-1"),
        ),
        (
            "ratings.dat",
            lambda p: read_table(
                p, "::", {"user": 0, "item": 1, "rating": 2, "timestamp": 3}, False, "latin-1", rating_range
            ),
            lambda: _titles(folder / "movies.dat", "::", 0, 1, False, "latin-1"),
        ),
        (
            "ratings.csv",
            lambda p: read_table(
                p,
                ",",
                {"user": "userId", "item": "movieId", "rating": "rating", "timestamp": "timestamp"},
                True,
                rating_range=rating_range,
            ),
            lambda: _titles(folder / "movies.csv", ",", 0, 1, True, "utf-8"),
        ),
    ]
    if inter:
        stem = inter[0].stem
        candidates.append(
            (
                inter[0].name,
                lambda p: read_table(
                    p,
                    "\t",
                    {
                        "user": "user_id:token",
                        "item": "item_id:token",
                        "rating": "rating:float",
                        "timestamp": "timestamp:float",
                    },
                    True,
                    rating_range=rating_range,
                ),
                lambda: _titles(folder / f"{stem}.item", "\t", 0, 1, True, "utf-8"),
            )
        )
    for name, read, titles in candidates:
        if (folder / name).is_file() and (only is None or only == name):
            ratings = read(folder / name)
            ratings.titles = titles()
            return ratings
    raise UsageError(
        f"no MovieLens ratings in {folder}: expected u.data (ml-100k), ratings.dat (ml-1m), "
        "ratings.csv (ml-latest) or RecBole's <name>.inter"
    )
