"""Sampling items a user never interacted with, for all users at once (no Python loop per user or per draw)."""

from __future__ import annotations

import numpy as np

# Draws per chunk of users, so memory stays bounded at any number of users.
_CHUNK = 1 << 22


def _first_valid(draws: np.ndarray, seen: np.ndarray, users: np.ndarray, num_items: int, k: int):
    """Per row: the first k draws that are unseen and not repeated in the row, and which rows had k of them."""
    keys = users[:, None] * num_items + draws
    at = np.minimum(np.searchsorted(seen, keys), len(seen) - 1)
    hit = seen[at] == keys if len(seen) else np.zeros(draws.shape, dtype=bool)
    order = np.argsort(draws, axis=1, kind="stable")
    ordered = np.take_along_axis(draws, order, axis=1)
    repeat_sorted = np.zeros(draws.shape, dtype=bool)
    repeat_sorted[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    repeat = np.empty_like(repeat_sorted)
    np.put_along_axis(repeat, order, repeat_sorted, axis=1)
    ok = ~hit & ~repeat
    enough = ok.sum(1) >= k
    chosen = np.argsort(~ok[enough], axis=1, kind="stable")[:, :k]  # valid draws first, in draw order
    return np.take_along_axis(draws[enough], chosen, axis=1), enough


def sample(users: np.ndarray, seen: np.ndarray, num_items: int, k: int, seed: int) -> np.ndarray:
    """k distinct items per entry of `users` that the user has not seen. `seen` holds the sorted keys
    user * num_items + item of every interaction; each user must leave at least k items unseen."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(users), k), dtype=np.int64)
    todo, width = np.arange(len(users)), 2 * k + 16
    for _ in range(4):  # nearly always done in the first round; the rest are users who have seen most items
        if not todo.size:
            return out
        missed = []
        for part in np.array_split(todo, -(-todo.size * width // _CHUNK)):
            draws = rng.integers(num_items, size=(len(part), width))
            picked, enough = _first_valid(draws, seen, users[part], num_items, k)
            out[part[enough]] = picked
            missed.append(part[~enough])
        todo, width = np.concatenate(missed), width * 4
    for row in todo.tolist():  # a user who has seen nearly every item: draw from what is left
        u = users[row]
        lo, hi = np.searchsorted(seen, [u * num_items, (u + 1) * num_items])
        unseen = np.setdiff1d(np.arange(num_items), seen[lo:hi] - u * num_items, assume_unique=True)
        out[row] = rng.choice(unseen, size=k, replace=False)
    return out
