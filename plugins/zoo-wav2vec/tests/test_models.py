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


@pytest.mark.parametrize("size", ["base", "large"])
def test_same_architecture_as_torchaudio(size):
    with torch.device("meta"):
        ours = zoo.create_model(f"wav2vec2_{size}")
        reference = getattr(torchaudio.models, f"wav2vec2_{size}")(aux_num_out=32)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in reference.state_dict().items()}


def test_tiny_keeps_the_20_ms_frames_and_pads_by_lengths():
    model = build("tiny", vocab_size=5).eval()
    with torch.no_grad():
        logits, frames = model(torch.randn(2, 32000), torch.tensor([32000, 16000]))
    assert logits.shape == (2, 99, 5)
    assert frames.tolist() == [99, 49]
    assert sum(p.numel() for p in model.parameters()) < 300_000


def test_bad_arguments():
    with pytest.raises(ValueError, match="size must be one of"):
        build("huge")
    with pytest.raises(ValueError, match="vocab_size must be at least 2"):
        build(vocab_size=1)
    with pytest.raises(ValueError, match="dropout must be in"):
        build(dropout=1.0)


def test_catalog_lists_the_960h_weights():
    info = zoo.model_info("wav2vec2_base")
    assert info["task"] == "automatic-speech-recognition"
    assert [w["name"] for w in info["weights"]] == ["wav2vec2_base.960h"]
    assert info["weights"][0]["preprocessing"] == {"sample_rate": 16000, "normalize": True}
    assert info["recipes"] == ["wav2vec2-ctc-finetune"]
    assert set(info["datasets"]) == {"librispeech", "speech-manifest"}


def test_info_json_lists_the_960h_weights(run_zoo):
    import json

    proc = run_zoo("info", "wav2vec2_base", "--json")
    assert proc.returncode == 0, proc.stderr
    weights = json.loads(proc.stdout)["weights"]
    assert weights[0]["name"] == "wav2vec2_base.960h"
    assert weights[0]["source"] == "facebook/wav2vec2-base-960h"
