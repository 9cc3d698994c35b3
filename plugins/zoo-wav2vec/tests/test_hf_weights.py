"""facebook/wav2vec2-base-960h in the transformers layout, served by olah, loaded into torchaudio's model."""

import json

import pytest
import soundfile
import torch
import torchaudio
from espeak import write_speech
from zoo_fixtures import WAV2VEC2_VOCAB, transformers_layout
from zoo_wav2vec.hf_weights import rename

import zoo
from zoo.errors import ZooError


def test_pulled_weights_load_strictly_and_give_torchaudios_logits(olah, hf_wav2vec2_base):
    model, config = zoo.load_pretrained("wav2vec2_base.960h", hub=olah)
    assert config["labels"] == WAV2VEC2_VOCAB
    assert config["preprocessing"] == {"sample_rate": 16000, "normalize": True}
    assert config["model_args"] == {"size": "base", "vocab_size": 32}
    reference = hf_wav2vec2_base.state_dict()
    ours = model.state_dict()
    assert ours.keys() == reference.keys()
    assert all(torch.equal(ours[k], reference[k]) for k in reference)
    model.load_state_dict(reference, strict=True)
    x = torch.randn(2, 24000)
    with torch.no_grad():
        assert torch.equal(model.eval()(x)[0], hf_wav2vec2_base(x)[0])


def test_old_weight_norm_keys_convert_as_torchs_own_hook_does(hf_wav2vec2_base):
    old = transformers_layout(hf_wav2vec2_base.state_dict(), old_weight_norm=True)
    assert "wav2vec2.encoder.pos_conv_embed.conv.weight_g" in old
    # torch's weight-norm parametrization converts weight_g/weight_v itself when a state dict is loaded:
    g, v = "parametrizations.weight.original0", "parametrizations.weight.original1"
    with_old_names = {k.replace(g, "weight_g").replace(v, "weight_v"): t for k, t in rename(old).items()}
    via_hook = torchaudio.models.wav2vec2_base(aux_num_out=32)
    via_hook.load_state_dict(with_old_names)
    ours = torchaudio.models.wav2vec2_base(aux_num_out=32)
    ours.load_state_dict(rename(old), strict=True)
    x = torch.randn(1, 16000)
    with torch.no_grad():
        assert torch.equal(ours.eval()(x)[0], via_hook.eval()(x)[0])
    new = transformers_layout(hf_wav2vec2_base.state_dict(), old_weight_norm=False)
    assert rename(new).keys() == ours.state_dict().keys()  # newer exports already use parametrization names


@pytest.mark.usefixtures("hf_wav2vec2_base")
def test_unknown_keys_and_wrong_shapes_are_refused(tmp_path):
    from zoo_wav2vec.hf_weights import convert

    with pytest.raises(ZooError, match=r"unexpected key bert\.embeddings\.weight"):
        rename({"bert.embeddings.weight": torch.zeros(1)})
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "wav2vec2"}))
    with pytest.raises(ZooError, match="not a transformers Wav2Vec2Config"):
        convert(tmp_path, {})
    from zoo_fixtures import WAV2VEC2_BASE_960H_CONFIG

    large = {**WAV2VEC2_BASE_960H_CONFIG, "hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16,
             "intermediate_size": 4096}  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(large))
    (tmp_path / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(WAV2VEC2_VOCAB)}))
    with pytest.raises(ZooError, match="wav2vec2_large weights, not wav2vec2_base"):
        convert(tmp_path, {}, zoo.get_registry().model("wav2vec2_base"))
    odd = {**WAV2VEC2_BASE_960H_CONFIG, "hidden_size": 512}
    (tmp_path / "config.json").write_text(json.dumps(odd))
    with pytest.raises(ZooError, match=r"shape zoo does not build .*encoder_embed_dim=512"):
        convert(tmp_path, {})
    (tmp_path / "config.json").write_text(json.dumps(WAV2VEC2_BASE_960H_CONFIG))
    (tmp_path / "vocab.json").write_text(json.dumps({"a": 0, "b": 1}))
    with pytest.raises(ZooError, match="not a CTC vocabulary"):
        convert(tmp_path, {})


def reference_transcript(model, path) -> str:
    """Independently of zoo: soundfile, mono, resample, normalise, argmax, collapse, drop blanks."""
    samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    wave = torchaudio.functional.resample(torch.from_numpy(samples.T.copy()).mean(0), rate, 16000)
    wave = (wave - wave.mean()) / torch.sqrt(wave.var(correction=0) + 1e-7)
    with torch.no_grad():
        best = model(wave[None])[0][0].argmax(-1).tolist()
    chars = [WAV2VEC2_VOCAB[i] for j, i in enumerate(best) if i != 0 and (j == 0 or best[j - 1] != i)]
    text = "".join(" " if c == "|" else c for c in chars if c == "|" or len(c) == 1)
    return " ".join(text.split())


def test_predict_prints_the_transcript(run_zoo, olah_session_cache, hf_wav2vec2_base, tmp_path):
    speech = write_speech(tmp_path / "speech.wav", "open the pod bay doors")
    proc = run_zoo("predict", "wav2vec2_base.960h", str(speech), "--json", env=olah_session_cache)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert rows == [{"input": str(speech), "output": reference_transcript(hf_wav2vec2_base, speech)}]
    human = run_zoo("predict", "wav2vec2_base.960h", str(speech), env=olah_session_cache)
    assert human.stdout.strip() == f"{speech}: {rows[0]['output']}".strip()


@pytest.mark.usefixtures("hf_wav2vec2_base")
def test_pull_skips_other_frameworks_and_verifies(run_zoo, olah_session_cache):
    proc = run_zoo("pull", "wav2vec2_base.960h", "--json", env=olah_session_cache)
    assert proc.returncode == 0, proc.stderr
    files = {f["path"] for f in json.loads(proc.stdout)["files"]}
    assert files == {"model.safetensors", "config.json", "vocab.json", "preprocessor_config.json"}


@pytest.mark.usefixtures("hf_wav2vec2_base")
def test_eval_of_the_pretrained_weights_reports_wer(run_zoo, olah_session_cache, tmp_path):
    from espeak import SENTENCES, write_manifest

    write_manifest(tmp_path, SENTENCES[:2])
    write_manifest(tmp_path, SENTENCES[2:4], name="dev.tsv")
    proc = run_zoo(
        "eval", "wav2vec2_base.960h", "--dataset", "speech-manifest", "--data-dir", str(tmp_path), "--json",
        env=olah_session_cache,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["dataset"] == "speech-manifest"
    assert set(result["metrics"]) == {"wer", "cer", "loss"}
    assert result["metrics"]["wer"] >= 0.9  # random weights: nearly every word wrong
