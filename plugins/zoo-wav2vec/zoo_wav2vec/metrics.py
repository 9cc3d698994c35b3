"""Word and character error rates with torchaudio.functional.edit_distance, as (errors, reference length) sums."""

from __future__ import annotations

from collections.abc import Sequence


def error_counts(references: Sequence[str], hypotheses: Sequence[str]) -> dict[str, tuple[int, int]]:
    """{"wer": (word edits, reference words), "cer": (character edits, reference characters)} over pairs.

    Texts are compared as given (normalise both first); characters include the spaces between words.
    """
    from torchaudio.functional import edit_distance

    words = chars = word_edits = char_edits = 0
    for ref, hyp in zip(references, hypotheses, strict=True):
        word_edits += edit_distance(ref.split(), hyp.split())
        char_edits += edit_distance(list(ref), list(hyp))
        words += len(ref.split())
        chars += len(ref)
    return {"wer": (word_edits, words), "cer": (char_edits, chars)}


def error_rates(references: Sequence[str], hypotheses: Sequence[str]) -> dict[str, float]:
    """WER and CER as fractions (over all pairs, not averaged per utterance)."""
    counts = error_counts(references, hypotheses)
    return {k: edits / total if total else float("nan") for k, (edits, total) in counts.items()}
