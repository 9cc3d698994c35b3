import pytest
from zoo_wav2vec.vocab import DEFAULT, Vocabulary


def test_normalisation_is_the_documented_one():
    assert DEFAULT.normalize("Hello, World!  café-au-lait 42 don't") == "HELLO WORLD CAFE AU LAIT DON'T"
    assert DEFAULT.normalize("a|b\tc\nd") == "A B C D"  # the delimiter itself is a word break
    assert DEFAULT.normalize("...") == ""


def test_encode_spells_words_with_the_delimiter():
    ids = DEFAULT.encode("the cat")
    assert [DEFAULT.tokens[i] for i in ids] == ["T", "H", "E", "|", "C", "A", "T"]
    assert DEFAULT.spell(ids) == "THE CAT"


def test_greedy_ctc_merges_repeats_and_drops_blanks():
    h, delimiter, e = DEFAULT.index["H"], DEFAULT.index["|"], DEFAULT.index["E"]
    # H H <blank> H | | E  ->  "HH E": repeats merge unless a blank separates them
    assert DEFAULT.decode([0, h, h, 0, h, delimiter, delimiter, e]) == "HH E"
    assert DEFAULT.decode([delimiter, 0, e, delimiter]) == "E"
    assert DEFAULT.decode([]) == ""


@pytest.mark.parametrize("lower", [False, True])
def test_decoding_is_transformers_batch_decode(tmp_path, lower):
    """transformers' Wav2Vec2CTCTokenizer decides what a greedy transcript is, special tokens and spaces included."""
    import json

    import torch
    from transformers import Wav2Vec2CTCTokenizer

    tokens = ["[UNK]", "|", *"abcde'", "[PAD]"]
    (tmp_path / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}))
    theirs = Wav2Vec2CTCTokenizer(
        str(tmp_path / "vocab.json"), pad_token="[PAD]", unk_token="[UNK]", do_lower_case=lower
    )
    ours = Vocabulary(tuple(tokens), blank=tokens.index("[PAD]"), unknown="[UNK]", lowercase=lower)
    generator = torch.Generator().manual_seed(0)
    for _ in range(200):
        length = int(torch.randint(0, 30, (1,), generator=generator))
        ids = torch.randint(0, len(tokens), (length,), generator=generator).tolist()
        assert ours.decode(ids) == theirs.decode(ids), ids


def test_vocab_json_order_and_checks():
    vocab = Vocabulary.from_json({"<pad>": 0, "|": 2, "a": 1, "b": 3})
    assert vocab.tokens == ("<pad>", "a", "|", "b")
    assert vocab.normalize("A B!") == "a b"  # lower-case letters: lower-cased transcripts
    with pytest.raises(ValueError, match=r"0\.\.n-1"):
        Vocabulary.from_json({"<pad>": 0, "|": 2})
    with pytest.raises(ValueError, match="blank"):
        Vocabulary(("|", "<pad>"), blank=2)
    with pytest.raises(ValueError, match="delimiter"):
        Vocabulary(("<pad>", "a"))
