"""The catalog's wav2vec2_base.960h (facebook/wav2vec2-base-960h as transformers lays it out, random weights),
served by olah: loaded through the wav2vec plugin's claim, checked against transformers and torchaudio."""

import json

import pytest
import soundfile
import torch
from espeak import write_speech

import zoo


def test_loads_as_torchaudios_importer_maps_it(olah, hf_wav2vec2_base):
    """torchaudio's import_huggingface_model is the independent reference for the tensor mapping."""
    _, _, imported = hf_wav2vec2_base
    model, config = zoo.load_pretrained("wav2vec2_base.960h", hub=olah)
    assert config["model"] == "wav2vec2_base" and config["claimed"]["architecture"] == "Wav2Vec2ForCTC"
    ours, theirs = model.state_dict(), imported.state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in theirs)


def test_predict_prints_transformers_transcript(run_zoo, olah_session_cache, hf_wav2vec2_base, tmp_path):
    import torchaudio

    hf_model, processor, _ = hf_wav2vec2_base
    speech = write_speech(tmp_path / "speech.wav", "open the pod bay doors")
    # transformers' transcript comes from the CPU: pinned, so that a GPU box compares the same arithmetic
    proc = run_zoo("predict", "wav2vec2_base.960h", str(speech), "--json", "--device", "cpu", env=olah_session_cache)
    assert proc.returncode == 0, proc.stderr
    samples, rate = soundfile.read(speech, dtype="float32")
    wave = torchaudio.functional.resample(torch.from_numpy(samples), rate, 16000).numpy()
    with torch.no_grad():
        logits = hf_model(processor(wave, sampling_rate=16000, return_tensors="pt").input_values).logits
    rows = json.loads(proc.stdout)
    assert rows == [{"input": str(speech), "output": processor.batch_decode(logits.argmax(-1))[0]}]
    human = run_zoo("predict", "wav2vec2_base.960h", str(speech), "--device", "cpu", env=olah_session_cache)
    assert human.stdout.strip() == f"{speech}: {rows[0]['output']}".strip()


@pytest.mark.usefixtures("hf_wav2vec2_base")
def test_pull_skips_other_frameworks_and_verifies(run_zoo, olah_session_cache):
    proc = run_zoo("pull", "wav2vec2_base.960h", "--json", env=olah_session_cache)
    assert proc.returncode == 0, proc.stderr
    files = {f["path"] for f in json.loads(proc.stdout)["files"]}
    assert files == {"model.safetensors", "config.json", "vocab.json", "processor_config.json", "tokenizer_config.json"}


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
