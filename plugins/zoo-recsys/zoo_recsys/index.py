"""The run's id index (data/index.safetensors): raw user and item ids, titles, each user's seen items and the most
popular items, which prediction needs and config.json is too small to hold at MovieLens-25M size.

Strings are stored as UTF-8 bytes with offsets (as Arrow stores them), the seen lists as CSR offsets and items, so
the file is one safetensors file, read without torch or pickle, and verified on pull like the weights.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

NAME = "index.safetensors"
FORMAT = "zoo-recsys-index/1"


def _pack(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    encoded = [s.encode("utf-8") for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), offsets


def _offsets(offsets: np.ndarray, end: int, what: str) -> list[int]:
    """CSR offsets as a list, checked: 1-D integers from 0, never decreasing, ending at `end`."""
    if offsets.ndim != 1 or offsets.dtype.kind not in "iu" or not len(offsets):
        raise ValueError(f"{what} offsets are not a 1-D integer array")
    bounds = offsets.tolist()
    if bounds[0] != 0 or bounds[-1] != end or any(b < a for a, b in itertools.pairwise(bounds)):
        raise ValueError(f"{what} offsets do not cover their data")
    return bounds


def _unpack(data: np.ndarray, offsets: np.ndarray, what: str) -> list[str]:
    if data.dtype != np.uint8 or data.ndim != 1:
        raise ValueError(f"{what} are not UTF-8 bytes")
    raw = data.tobytes()
    return [raw[a:b].decode("utf-8") for a, b in itertools.pairwise(_offsets(offsets, len(raw), what))]


@dataclass
class Index:
    """Raw ids by index, titles ("" for none), seen items per user in CSR form, popular items (most first)."""

    users: list[str]
    items: list[str]
    titles: list[str]
    seen_offsets: np.ndarray
    seen_items: np.ndarray
    popular: np.ndarray

    def seen(self, user: int) -> np.ndarray:
        return self.seen_items[self.seen_offsets[user] : self.seen_offsets[user + 1]]

    @cached_property
    def user_index(self) -> dict[str, int]:
        return {u: i for i, u in enumerate(self.users)}

    def title(self, item: int) -> str | None:
        return self.titles[item] or None if item < len(self.titles) else None

    def save(self, path: Path) -> None:
        from safetensors.numpy import save_file

        tensors = {"seen_offsets": self.seen_offsets, "seen_items": self.seen_items, "popular": self.popular}
        for name, strings in (("users", self.users), ("items", self.items), ("titles", self.titles)):
            tensors[f"{name}_utf8"], tensors[f"{name}_offsets"] = _pack(strings)
        save_file(tensors, str(path), metadata={"format": FORMAT})

    @classmethod
    def load(cls, path: Path) -> Index:
        """The index in `path`; ValueError (or safetensors' own error) for anything that is not a whole one."""
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as f:
            if (f.metadata() or {}).get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} file")
            t = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
        missing = {"seen_offsets", "seen_items", "popular"} - set(t)
        if missing:
            raise ValueError(f"missing {', '.join(sorted(missing))}")
        users, items, titles = (
            _unpack(t[f"{n}_utf8"], t[f"{n}_offsets"], n) if f"{n}_utf8" in t and f"{n}_offsets" in t else None
            for n in ("users", "items", "titles")
        )
        if users is None or items is None or titles is None:
            raise ValueError("missing the users, items or titles")
        seen, popular = t["seen_items"], t["popular"]
        _offsets(t["seen_offsets"], len(seen), "seen")
        if len(t["seen_offsets"]) != len(users) + 1 or len(titles) != len(items):
            raise ValueError("its users, items and titles disagree in number")
        for what, ids in (("seen", seen), ("popular", popular)):
            in_range = not ids.size or 0 <= ids.min() <= ids.max() < len(items)
            if ids.ndim != 1 or ids.dtype.kind not in "iu" or not in_range:
                raise ValueError(f"its {what} items are not item indices")
        return cls(users, items, titles, t["seen_offsets"], seen, popular)
