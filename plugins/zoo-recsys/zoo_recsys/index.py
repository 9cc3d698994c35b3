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

from zoo.plugin.schema import DocumentError, Fields, ListOf, Maybe, Number, Text, validate

NAME = "index.safetensors"
FORMAT = "zoo-recsys-index/1"


def _pack(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    encoded = [s.encode("utf-8") for s in strings]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), offsets


STRINGS = ("users", "items", "titles")
OFFSETS = ("users_offsets", "items_offsets", "titles_offsets", "seen_offsets")
TENSORS = (*OFFSETS, *(f"{n}_utf8" for n in STRINGS), "seen_items", "popular")
_INDICES = ("I32", "I64")


def _array(dtypes: tuple[str, ...], length: str, values: str = "[0, inf)", offsets_end: int | None = None) -> Fields:
    """A 1-D tensor of one of `dtypes` whose length lies in the interval `length` and its values in `values`;
    offsets (`offsets_end` given) also run from 0 to that end and never decrease."""
    integer = Maybe(Number(values, integer=True))
    rules = {
        "dtype": Text(choices=dtypes),
        "shape": ListOf(Number(length, integer=True), length=1),
        "min": integer,
        "max": integer,
    }
    if offsets_end is not None:
        rules |= {
            "first": Maybe(Number("[0, 0]", integer=True)),
            "last": Maybe(Number(f"[{offsets_end}, {offsets_end}]", integer=True)),
            "least_step": Maybe(Number("[0, inf)", integer=True)),
        }
    return Fields(rules, required=("dtype", "shape"))


def _length(doc: dict, name: str) -> int:
    """The claimed length of a 1-D tensor in the document; 0 when it has none (the schema then names it)."""
    shape = doc.get(name, {}).get("shape")
    return shape[0] if isinstance(shape, list) and len(shape) == 1 and isinstance(shape[0], int) else 0


def schema(doc: dict) -> Fields:
    """The index's one schema, sized by the document itself: users_offsets and items_offsets say how many users
    and items there are, and every other tensor must agree with them (lengths, and item indices in range)."""
    users, items = _length(doc, "users_offsets") - 1, _length(doc, "items_offsets") - 1
    seen = _length(doc, "seen_items")
    utf8 = {f"{n}_utf8": _array(("U8",), "[0, inf)") for n in STRINGS}
    return Fields(
        {
            "format": Text(choices=(FORMAT,)),
            "users_offsets": _array(("I64",), "[1, inf)", offsets_end=_length(doc, "users_utf8")),
            "items_offsets": _array(("I64",), "[1, inf)", offsets_end=_length(doc, "items_utf8")),
            "titles_offsets": _array(("I64",), f"[{items + 1}, {items + 1}]", offsets_end=_length(doc, "titles_utf8")),
            **utf8,
            "seen_offsets": _array(("I64",), f"[{users + 1}, {users + 1}]", offsets_end=seen),
            "seen_items": _array(_INDICES, "[0, inf)", values=f"[0, {items})"),
            "popular": _array(_INDICES, f"[0, {items}]", values=f"[0, {items})"),
            "distinct_users": Maybe(Number(f"[{users}, {users}]", integer=True)),
        },
        required=("format", *TENSORS),
    )


def _summary(values: np.ndarray, offsets: bool) -> dict[str, int | None]:
    """What the schema checks of a tensor's values: its least and greatest, and for offsets the ends and steps."""
    if not values.size:
        return {}
    found = {"min": values.min().item(), "max": values.max().item()}
    if offsets:
        found |= {"first": values[0].item(), "last": values[-1].item()}
        if values.size > 1:
            found["least_step"] = np.diff(values).min().item()
    return found


def _unpack(data: np.ndarray, offsets: np.ndarray, what: str, where: str) -> list[str]:
    raw = data.tobytes()
    try:
        return [raw[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets.tolist())]
    except UnicodeDecodeError:
        raise DocumentError(f"{where}: field '{what}_utf8' is not UTF-8 text. Retrain the run.") from None


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
        """The index in `path`, checked by `schema`: the header (dtypes, lengths) before any tensor is read, then
        the values. DocumentError names the file and field; safetensors' own error for a file that is not one."""
        from safetensors import safe_open

        where, hint = str(path), "Retrain the run (or pull the repository again)."
        with safe_open(str(path), framework="numpy") as f:
            doc: dict = {"format": (f.metadata() or {}).get("format")}
            for name in f.keys():  # noqa: SIM118 - safe_open has no __iter__
                tensor = f.get_slice(name)
                doc[name] = {"dtype": tensor.get_dtype(), "shape": tensor.get_shape()}
            rule = schema(doc)
            validate(doc, rule, where, hint)
            t = {name: f.get_tensor(name) for name in TENSORS}
        for name in (*OFFSETS, "seen_items", "popular"):
            doc[name] |= _summary(t[name], name in OFFSETS)
        users, items, titles = (_unpack(t[f"{n}_utf8"], t[f"{n}_offsets"], n, where) for n in STRINGS)
        doc["distinct_users"] = len(set(users))
        validate(doc, rule, where, hint)
        return cls(users, items, titles, t["seen_offsets"], t["seen_items"], t["popular"])
