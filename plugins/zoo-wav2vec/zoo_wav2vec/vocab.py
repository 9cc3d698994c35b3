"""Character vocabularies for CTC, transcript normalisation and greedy decoding.

Normalisation (what training targets and WER references go through):
1. Unicode NFKD, then accents dropped ("café" -> "CAFE");
2. upper-cased (lower-cased when the vocabulary's letters are lower-case);
3. every character the vocabulary lacks is dropped (punctuation, digits: write numbers as words), except that
   whitespace, hyphens and underscores separate words;
4. words are joined by the word delimiter `|`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

BLANK, DELIMITER = "<pad>", "|"
# facebook/wav2vec2-base-960h's vocab.json, in index order: <pad> is the CTC blank, "|" separates words.
LIBRISPEECH_CHARS = [
    "<pad>", "<s>", "</s>", "<unk>", "|",
    "E", "T", "A", "O", "N", "I", "H", "S", "R", "D", "L", "U", "M", "W", "C", "F", "G", "Y", "P", "B", "V", "K",
    "'", "X", "J", "Q", "Z",
]  # fmt: skip
SEPARATORS = "-_"


@dataclass(frozen=True)
class Vocabulary:
    """Tokens by index; single characters are spelled, longer ones (<s>, <unk>) are special."""

    tokens: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.tokens) < 2 or self.tokens[0] != BLANK:
            raise ValueError(f"a CTC vocabulary starts with the blank {BLANK!r} at index 0, got {self.tokens[:3]}")
        if DELIMITER not in self.tokens:
            raise ValueError(f"the vocabulary has no word delimiter {DELIMITER!r}")
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("the vocabulary lists a token twice")

    @classmethod
    def from_json(cls, mapping: dict[str, int]) -> Vocabulary:
        """transformers' vocab.json: token -> index, indices 0..n-1."""
        if sorted(mapping.values()) != list(range(len(mapping))):
            raise ValueError("vocab.json indices must be 0..n-1 without gaps")
        return cls(tuple(sorted(mapping, key=mapping.__getitem__)))

    @cached_property  # normalize and encode run once per utterance while training
    def index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.tokens)}

    @cached_property
    def upper(self) -> bool:
        letters = [t for t in self.tokens if len(t) == 1 and t.isalpha()]
        return not letters or any(t.isupper() for t in letters)

    def normalize(self, text: str) -> str:
        """The transcript as the model spells it: words of vocabulary characters separated by single spaces."""
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        text = text.upper() if self.upper else text.lower()
        spelled = self.index
        kept = "".join(c if c in spelled else " " if c.isspace() or c in SEPARATORS else "" for c in text)
        return " ".join(kept.replace(DELIMITER, " ").split())

    def encode(self, text: str) -> list[int]:
        """Token ids of the normalised transcript, words joined by the delimiter."""
        index = self.index
        return [index[DELIMITER] if c == " " else index[c] for c in self.normalize(text)]

    def decode(self, ids: Sequence[int]) -> str:
        """Greedy CTC: merge repeats, drop blanks and special tokens, turn delimiters into spaces."""
        out, previous = [], None
        for i in ids:
            if i != previous and i != 0:
                token = self.tokens[i]
                out.append(" " if token == DELIMITER else token if len(token) == 1 else "")
            previous = i
        return " ".join("".join(out).split())

    def spell(self, ids: Sequence[int]) -> str:
        """Target ids back to the normalised transcript (no CTC merging)."""
        return " ".join("".join(" " if self.tokens[i] == DELIMITER else self.tokens[i] for i in ids).split())


DEFAULT = Vocabulary(tuple(LIBRISPEECH_CHARS))
