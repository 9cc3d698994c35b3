import pytest
import torch
import torchaudio
from zoo_wav2vec.models import build

import zoo


def test_base_transcribes_one_second_into_ctc_logits():
    model = build("base", vocab_size=32).eval()
    with torch.no_grad():
        logits, _ = model(torch.randn(1, 16000))
    assert logits.shape == (1, 49, 32)  # 20 ms frames, one logit per vocabulary symbol


def test_same_architecture_as_torchaudio():
    with torch.device("meta"):
        ours = zoo.create_model("wav2vec2_large")
        reference = torchaudio.models.wav2vec2_large(aux_num_out=32)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in reference.state_dict().items()}


def test_bad_arguments():
    with pytest.raises(ValueError, match="size must be one of"):
        build("huge")
    with pytest.raises(ValueError, match="vocab_size must be at least 2"):
        build(vocab_size=1)


def test_catalog_lists_the_960h_weights():
    info = zoo.model_info("wav2vec2_base")
    assert info["task"] == "automatic-speech-recognition"
    assert [w["name"] for w in info["weights"]] == ["wav2vec2_base.960h"]
