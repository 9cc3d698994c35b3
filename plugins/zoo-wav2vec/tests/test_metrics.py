import math

from zoo_wav2vec.metrics import error_counts, error_rates


def test_hand_computed_word_and_character_errors():
    # words: "sat" -> "sit" (1 substitution) + "on" inserted = 2 edits over 3 reference words.
    # characters: a -> i (1) + " on" inserted (3) = 4 edits over the 11 characters of "the cat sat".
    assert error_counts(["the cat sat"], ["the cat sit on"]) == {"wer": (2, 3), "cer": (4, 11)}


def test_rates_sum_over_utterances_not_average_them():
    refs = ["a b c d", "e"]
    hyps = ["a b c d", ""]  # 0 of 4 words wrong, then 1 of 1 deleted
    rates = error_rates(refs, hyps)
    assert rates["wer"] == 1 / 5
    assert rates["cer"] == 1 / 8  # "a b c d" has 7 characters, "e" one


def test_perfect_and_empty_cases():
    assert error_rates(["hello world"], ["hello world"]) == {"wer": 0.0, "cer": 0.0}
    assert error_rates(["hello world"], [""]) == {"wer": 1.0, "cer": 1.0}
    assert error_rates(["x"], ["a b c"]) == {"wer": 3.0, "cer": 5.0}  # insertions can exceed 100%
    assert all(math.isnan(v) for v in error_rates([""], ["a"]).values())
