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

DELIMITER = "|"
# facebook/wav2vec2-base-960h's vocab.json, in index order: <pad> is the CTC blank, "|" separates words.
LIBRISPEECH_CHARS = [
    "<pad>", "<s>", "</s>", "<unk>", "|",
    "E", "T", "A", "O", "N", "I", "H", "S", "R", "D", "L", "U", "M", "W", "C", "F", "G", "Y", "P", "B", "V", "K",
    "'", "X", "J", "Q", "Z",
]  # fmt: skip
SEPARATORS = "-_"


@dataclass(frozen=True)
class Vocabulary:
    """Tokens by index, with the CTC blank's index, the word delimiter and the decoding options of transformers'
    Wav2Vec2CTCTokenizer (do_lower_case, clean_up_tokenization_spaces). Single characters are spelled."""

    tokens: tuple[str, ...]
    blank: int = 0
    delimiter: str = DELIMITER
    #: the unknown token, if the vocabulary has one (for zoo info; normalisation drops unknown characters)
    unknown: str | None = None
    #: transformers' do_lower_case: transcripts are lower-cased after decoding
    lowercase: bool = False
    #: transformers' clean_up_tokenization_spaces: " ." -> "." and the like after decoding
    clean_up: bool = False

    def __post_init__(self) -> None:
        if len(self.tokens) < 2 or not 0 <= self.blank < len(self.tokens):
            raise ValueError(
                f"a CTC vocabulary needs its blank among its tokens, got {self.blank} of {self.tokens[:3]}"
            )
        if self.delimiter not in self.tokens:
            raise ValueError(f"the vocabulary has no word delimiter {self.delimiter!r}")
        named = [t for t in self.tokens if t]  # ids without a token ("") may repeat
        if len(set(named)) != len(named):
            raise ValueError("the vocabulary lists a token twice")

    @classmethod
    def from_json(cls, mapping: dict[str, int]) -> Vocabulary:
        """transformers' vocab.json: token -> index, indices 0..n-1."""
        if sorted(mapping.values()) != list(range(len(mapping))):
            raise ValueError("vocab.json indices must be 0..n-1 without gaps")
        return cls(tuple(sorted(mapping, key=mapping.__getitem__)))

    def to_config(self) -> dict[str, object]:
        """The decoding options a run's config.json records beside the tokens (its `labels`)."""
        return {
            "blank": self.blank,
            "delimiter": self.delimiter,
            "unknown": self.unknown,
            "lowercase": self.lowercase,
            "clean_up": self.clean_up,
        }

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
        return " ".join(kept.replace(self.delimiter, " ").split())

    def encode(self, text: str) -> list[int]:
        """Token ids of the normalised transcript, words joined by the delimiter."""
        index = self.index
        return [index[self.delimiter] if c == " " else index[c] for c in self.normalize(text)]

    def decode(self, ids: Sequence[int]) -> str:
        """Greedy CTC as transformers' Wav2Vec2CTCTokenizer.decode does it: merge repeats, drop blanks, turn
        delimiters into spaces, strip; then lower-case and clean up when the tokenizer says so."""
        merged = [i for n, i in enumerate(ids) if n == 0 or i != ids[n - 1]]
        blank = self.tokens[self.blank]
        chars = [self.tokens[i] for i in merged if self.tokens[i] != blank]
        text = "".join(" " if c == self.delimiter else c for c in chars).strip()
        text = text.lower() if self.lowercase else text
        return _clean_up(text) if self.clean_up else text

    def spell(self, ids: Sequence[int]) -> str:
        """Target ids back to the normalised transcript (no CTC merging)."""
        return " ".join("".join(" " if self.tokens[i] == self.delimiter else self.tokens[i] for i in ids).split())


DEFAULT = Vocabulary(tuple(LIBRISPEECH_CHARS), unknown="<unk>")


def _clean_up(text: str) -> str:
    """transformers' clean_up_tokenization: no space before punctuation and English contractions."""
    for spaced, tight in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't")):
        text = text.replace(spaced, tight)
    for suffix in ("'m", "'s", "'ve", "'re"):
        text = text.replace(" " + suffix, suffix)
    return text
