"""zoo export of wav2vec2 with a dynamic time axis: the catalog's wav2vec2_base.960h and a transformers
Wav2Vec2ForCTC repo claimed from the Hub (served by olah), and a run trained on speech (its validation split feeds
the gate). Each passes the gate with identical transcripts; onnxruntime / torch.export.load, run directly on the
written file, reproduce the eager logits at another batch size and another audio length than the traced ones; and
`zoo predict --runtime onnx` refuses audio under the export's minimum in one line and transcribes as torch does."""

import json
import os
import subprocess

import onnxruntime
import pytest
import soundfile
import torch
from espeak import SENTENCES, write_manifest, write_speech
from zoo_fixtures import ZOO, assert_clean_error, save_transformers_ctc
from zoo_wav2vec.recipe import example_sounds, normalized

from zoo.hub.local_git import LocalHub
from zoo.jobs.export import export
from zoo.jobs.inference import load_for_inference
from zoo.jobs.train import train

# the smallest Wav2Vec2ForCTC that keeps every part (feature encoder, positional conv, transformer): CI's time
SMALL = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 48,
    "conv_dim": (16, 24, 24),
    "conv_kernel": (10, 3, 3),
    "conv_stride": (5, 2, 2),
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 2,
}


@pytest.fixture(scope="module")
def small_repo(hub_root, tmp_path_factory):
    """speech/wav2vec2-export: a small Wav2Vec2ForCTC as transformers saves it, in the Hub that olah serves."""
    folder = tmp_path_factory.mktemp("wav2vec2-export")
    save_transformers_ctc(folder, seed=3, **SMALL)
    local = LocalHub(hub_root)
    local.create_repo("speech/wav2vec2-export")
    local.commit("speech/wav2vec2-export", {p.name: p for p in folder.iterdir()}, "transformers weights")
    return "speech/wav2vec2-export"


def fresh_waves(count: int, seconds: float) -> torch.Tensor:
    """Sounds the gate never saw (another seed), at another batch size and length, normalised as predict does."""
    return torch.stack([normalized(w) for w in example_sounds(count, 16000, seconds=seconds, seed=11)])


def run_file(path: str, fmt: str, waves: torch.Tensor) -> torch.Tensor:
    """The written file run by its own runtime, without zoo: onnxruntime, or torch.export.load."""
    if fmt == "onnx":
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        [name] = [i.name for i in session.get_inputs()]
        return torch.from_numpy(session.run(None, {name: waves.numpy()})[0])
    return torch.export.load(path).module()(waves)[0]


def check_export(target: str, fmt: str, source: str, **options) -> dict:
    """Export `target`, check the gate's figures, and run the file on 3 sounds of 1.3 s (traced: 7 of 1 s)."""
    result = export(target, fmt, **options)
    parity = result["parity"]
    assert parity["passed"] and parity["agreement"] == {"name": "transcripts", "value": 1.0}, parity
    assert parity["source"] == source and parity["samples"] == 8
    _, model, _ = load_for_inference(target, device="cpu", **options)
    waves = fresh_waves(3, 1.3)
    with torch.no_grad():
        eager = model(waves)[0]
    assert eager.shape[0] == 3 and 0.01 < eager.abs().max() < 100, eager.abs().max()
    torch.testing.assert_close(run_file(result["path"], fmt, waves), eager, atol=1e-4, rtol=1e-4)
    return result


@pytest.mark.usefixtures("hf_wav2vec2_base")
@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_the_catalog_wav2vec2_exports_with_a_dynamic_time_axis(olah, tmp_path, monkeypatch, fmt):
    """The real wav2vec2_base (95M parameters): the slowest export of the suite, in both formats as users run it."""
    monkeypatch.chdir(tmp_path)
    result = check_export("wav2vec2_base.960h", fmt, "sounds zoo_wav2vec makes", hub=olah)
    assert result["path"] == f"wav2vec2_base.960h.{fmt}"


@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_a_transformers_wav2vec2_repo_claimed_from_the_hub_exports(olah, small_repo, tmp_path, monkeypatch, fmt):
    monkeypatch.chdir(tmp_path)
    check_export(small_repo, fmt, "sounds zoo_wav2vec makes", hub=olah)


@pytest.fixture(scope="module")
def speech_run(tmp_path_factory):
    """(run folder, data folder): wav2vec2_tiny after one epoch on synthesised speech, on the CPU, at a learning
    rate low enough that it still emits letters (more training first learns to emit only blanks: empty transcripts,
    with which any two runtimes agree)."""
    data = tmp_path_factory.mktemp("speech")
    write_manifest(data, SENTENCES[:4])
    write_manifest(data, SENTENCES, name="dev.tsv")  # the gate takes 7 at once
    out = tmp_path_factory.mktemp("runs") / "tiny"
    sets = {"pretrained": False, "best_metric": "", "freeze_feature_encoder": False}
    train("wav2vec2_tiny", dataset="speech-manifest", data_dir=str(data), epochs=1, batch_size=4, lr=1e-5,
          device="cpu", sets=sets, out=out, quiet=True)  # fmt: skip
    return out, data


@pytest.mark.parametrize("fmt", ["onnx", "pt2"])
def test_a_trained_run_exports_with_its_validation_split_as_samples(speech_run, fmt):
    run, data = speech_run
    result = check_export(str(run), fmt, "the validation split of speech-manifest", data_dir=str(data))
    assert result["path"] == str(run / f"model.{fmt}")


def test_the_speech_agreement_compares_transcripts(speech_run):
    run, data = speech_run
    recipe, model, _ = load_for_inference(str(run), device="cpu", data_dir=str(data))
    inputs = recipe.example_inputs(2)
    with torch.no_grad():
        eager = model(*inputs.tensors)[0]
    assert recipe.agreement(eager, eager + 1e-6, inputs).agreeing == 2
    other = eager.clone()
    other[1] = eager[1].roll(1, dims=-1)  # every frame's best token moves to the next one: another transcript
    result = recipe.agreement(eager, other, inputs)
    assert (result.name, result.agreeing, result.total) == ("transcripts", 1, 2)


def zoo_predict(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOO_", "HF_"))}
    return subprocess.run([str(ZOO), "predict", *args], env=env, capture_output=True, text=True, timeout=300)


def test_predict_with_the_onnx_runtime_refuses_short_audio_and_transcribes_as_torch(speech_run, tmp_path):
    run, _ = speech_run
    if not (run / "model.onnx").is_file():
        export(str(run), "onnx")
    short = tmp_path / "short.wav"
    soundfile.write(short, example_sounds(1, 16000, seconds=0.05)[0].numpy(), 16000)  # under the export's 0.1 s
    refused = zoo_predict(str(run), str(short), "--runtime", "onnx")
    stderr = assert_clean_error(refused, 2, f"{short}: ", "800 samples", "at least 1600")
    assert len(stderr.strip().splitlines()) == 1, stderr
    speech = write_speech(tmp_path / "speech.wav", "open the pod bay doors, please hal")
    samples, rate = soundfile.read(speech, dtype="float32")
    assert 2.2 < len(samples) / rate < 3.2  # a clip of about 2.5 s, not the lengths the gate traced
    answers = {}
    for runtime in ("torch", "onnx"):
        proc = zoo_predict(str(run), str(speech), "--runtime", runtime, "--device", "cpu", "--json")
        assert proc.returncode == 0, proc.stderr
        answers[runtime] = json.loads(proc.stdout)
    assert answers["onnx"] == answers["torch"] and answers["torch"][0]["output"], answers
