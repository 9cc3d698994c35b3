"""A few ratings in each adapter's real format, for zoo's conformance suite (zoo.testing): no download."""

from __future__ import annotations

import random
from pathlib import Path

from zoo.plugin import Sample

# Every one of the 150 items is rated by someone, and each user leaves 138 unseen: leave-one-out evaluation ranks
# each held-out item against 99 of those.
USERS, ITEMS, PER_USER = 15, 150, 10


def _ratings() -> list[tuple[int, int, int, int]]:
    rng = random.Random(0)
    return [
        (user, (user * PER_USER + n) % ITEMS + 1, rng.randint(1, 5), 881250000 + 10 * user + n)
        for user in range(1, USERS + 1)
        for n in range(PER_USER)
    ]


def movielens(folder: Path) -> Sample:
    """ml-100k's u.data: user, item, rating, timestamp, tab-separated, no header."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "u.data").write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in _ratings()))
    return Sample(data_dir=folder, inputs=["1"])


def ratings_csv(folder: Path) -> Sample:
    """A CSV with the default column names."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{u},{i},{r},{t}\n" for u, i, r, t in _ratings())
    (folder / "ratings.csv").write_text("user,item,rating,timestamp\n" + rows)
    return Sample(data_dir=folder / "ratings.csv", inputs=["2"])
