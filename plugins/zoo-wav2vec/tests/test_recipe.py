"""wav2vec2-ctc-finetune end to end: the real CLI, real torch training on espeak-ng speech, eval, predict."""

import hashlib
import json
import os
import subprocess

import numpy as np
import pytest
import soundfile
import torch
from espeak import SENTENCES, write_manifest, write_speech
from safetensors.torch import load_file
from zoo_fixtures import ZOO

from zoo.jobs.inference import load_for_inference

TINY = ["wav2vec2_tiny", "--dataset", "speech-manifest", "--set", "pretrained=false", "--batch-size", "4"]


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """Eight synthesised sentences for training, four of them again for validation."""
    folder = tmp_path_factory.mktemp("speech")
    write_manifest(folder, SENTENCES)
    write_manifest(folder, SENTENCES[:4], name="dev.tsv", fmt="flac")
    return folder


@pytest.fixture(scope="module")
def tiny_run(speech, tmp_path_factory, params_cache):
    """A tiny wav2vec2 trained from scratch for 40 steps (20 epochs of 2 batches), keeping the last epoch; on the
    CPU on every box, where the loss threshold below was tuned (a GPU would train with TF32)."""
    out = tmp_path_factory.mktemp("runs") / "tiny"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOO_", "HF_"))}
    env.update(ZOO_CACHE_DIR=str(params_cache), HF_HOME=str(out.parent / "hf"))
    command = [str(ZOO), "train", *TINY, "--data-dir", str(speech), "--epochs", "20", "--lr", "2e-3", "--device", "cpu"]
    command += ["--set", "best_metric=", "--set", "freeze_feature_encoder=false", "--out", str(out), "--json"]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out


def test_fine_tuning_lowers_the_ctc_loss(tiny_run):
    history = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    assert len(history) == 20 and all(row["steps"] == 2 for row in history)
    assert history[-1]["loss"] < 0.6 * history[0]["loss"]
    assert all(row["wer"] >= 0 and row["cer"] >= 0 for row in history)
    config = json.loads((tiny_run / "config.json").read_text())
    assert config["labels"][:5] == ["<pad>", "<s>", "</s>", "<unk>", "|"]
    assert config["preprocessing"] == {"sample_rate": 16000, "normalize": True}
    assert config["model_args"] == {"vocab_size": 32, "dropout": 0.1}
    assert config["settings"]["scheduler"] == "tri-stage"


def test_eval_reports_wer_as_training_measured_it(run_zoo, tiny_run, speech):
    proc = run_zoo("eval", str(tiny_run), "--dataset", "speech-manifest", "--data-dir", str(speech), "--json",
                   "--device", "cpu")  # as training measured it: on the CPU  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(proc.stdout)["metrics"]
    final = json.loads((tiny_run / "metrics.json").read_text())
    assert set(metrics) == {"wer", "cer", "loss"}
    assert metrics["wer"] == final["wer"] and metrics["cer"] == final["cer"]
    assert metrics["loss"] == pytest.approx(final["loss"], rel=1e-4)


def test_predict_transcribes_flac_and_8khz_stereo(run_zoo, tiny_run, speech, tmp_path):
    import torchaudio

    mono, rate = soundfile.read(speech / "clips" / "train-0.wav", dtype="float32")
    low = torchaudio.functional.resample(torch.from_numpy(mono), rate, 8000).numpy()
    stereo = tmp_path / "8k-stereo.wav"
    soundfile.write(stereo, np.stack([low, 0.5 * low], 1), 8000)
    inputs = [str(speech / "clips" / "dev-0.flac"), str(stereo)]
    proc = run_zoo("predict", str(tiny_run), *inputs, "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["input"] for r in rows] == inputs
    assert all(isinstance(r["output"], str) for r in rows)


def test_predict_refuses_bad_files_in_one_line(run_zoo, tiny_run, tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not audio")
    for name, message in (("empty.wav", "is empty"), ("notes.txt", "cannot read the audio file")):
        proc = run_zoo("predict", str(tiny_run), str(tmp_path / name))
        assert proc.returncode == 1
        assert message in proc.stderr and name in proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_a_ten_minute_file_is_transcribed_in_bounded_chunks(tiny_run, tmp_path):
    rate, seconds = 16000, 600
    rng = np.random.default_rng(0)
    t = np.arange(rate * seconds) / rate
    wave = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.shape)).astype(np.float32)
    path = tmp_path / "ten-minutes.flac"
    soundfile.write(path, wave, rate)
    recipe, model, config = load_for_inference(str(tiny_run))
    windows = []
    model.register_forward_pre_hook(lambda _module, args: windows.append(args[0].shape[-1]))
    [text] = recipe.predict(model, [str(path)], 1, config)
    assert isinstance(text, str)
    chunk, overlap = recipe.options["chunk_seconds"], recipe.options["overlap_seconds"]
    assert len(windows) == seconds // chunk
    assert max(windows) <= (chunk + 2 * overlap) * rate  # what one model call holds, whatever the file's length

    from zoo_wav2vec.transcribe import frame_logits

    assert frame_logits(model, torch.from_numpy(wave), rate).shape[0] == pytest.approx(seconds * 50, abs=25)


def test_transformer_learns_only_after_the_frozen_steps(speech):
    from zoo.engine.settings import build_config
    from zoo.jobs.train import make_recipe, resolve

    mspec, rspec, dspec = resolve("wav2vec2_tiny", dataset="speech-manifest")
    config = build_config(rspec.defaults("cpu"), {}, {"pretrained": "false", "freeze_transformer_steps": "3"})
    recipe = make_recipe(rspec, mspec, dspec, config, speech)
    data = recipe.build_data()
    model = recipe.build_model(recipe.model_args(data)).train()
    batch = data.collate([data.train[i] for i in range(2)])
    grads = {}
    for step in (0, 2, 3):
        model.zero_grad(set_to_none=True)
        recipe.global_step = step
        recipe.loss(model, batch).backward()
        grads[step] = {
            part: any(p.grad is not None for n, p in model.named_parameters() if n.startswith(part))
            for part in ("feature_extractor.", "encoder.", "aux.")
        }
    assert grads[0] == grads[2] == {"feature_extractor.": False, "encoder.": False, "aux.": True}
    assert grads[3] == {"feature_extractor.": False, "encoder.": True, "aux.": True}


def test_bf16_autocast_and_gradient_accumulation(run_zoo, speech, tmp_path):
    """What the GPU defaults use (bf16, 2 batches per step), run on the CPU's bf16 autocast."""
    out = tmp_path / "bf16"
    args = ["--precision", "bf16", "--set", "grad_accum=2", "--batch-size", "2", "--epochs", "1", "--device", "cpu"]
    args += ["--out", str(out)]
    proc = run_zoo("train", *TINY[:-2], "--data-dir", str(speech), *args, "--json")
    assert proc.returncode == 0, proc.stderr
    [row] = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert row["steps"] == 2  # 8 utterances, batches of 2, 2 batches per optimizer step
    assert 0 < row["loss"] < float("inf")
    assert json.loads((out / "config.json").read_text())["settings"]["precision"] == "bf16"


# Installed into every process of the DDP test (sitecustomize.py on PYTHONPATH): each torchrun worker records, in a
# file of its own, its RANK and WORLD_SIZE, the utterances it trained on and a digest of the weights it evaluates.
RANK_RECORDER = """
import hashlib, json, os

from zoo_wav2vec.recipe import Wav2Vec2CTCFinetune, unwrap

FOLDER, SEEN = os.environ["TEST_RANK_RECORDS"], []
loss, metrics = Wav2Vec2CTCFinetune.loss, Wav2Vec2CTCFinetune.metrics


def recording_loss(self, model, batch):
    targets, lengths = batch["targets"].cpu(), batch["target_lengths"].cpu()
    SEEN.extend(self.vocab.spell(t[:n].tolist()) for t, n in zip(targets, lengths))
    return loss(self, model, batch)


def recording_metrics(self, model, batch):
    digest = hashlib.sha256()
    for key, tensor in sorted(unwrap(model).state_dict().items()):
        digest.update(key.encode() + tensor.detach().cpu().contiguous().numpy().tobytes())
    record = {"rank": os.environ.get("RANK"), "world": os.environ.get("WORLD_SIZE"), "pid": os.getpid(),
              "trained_on": SEEN, "weights": digest.hexdigest()}
    with open(os.path.join(FOLDER, f"rank-{os.getpid()}.json"), "w") as fh:
        json.dump(record, fh)
    return metrics(self, model, batch)


Wav2Vec2CTCFinetune.loss, Wav2Vec2CTCFinetune.metrics = recording_loss, recording_metrics
"""


def test_two_processes_share_the_data_and_end_with_equal_weights(run_zoo, speech, tmp_path):
    """Two ranks (with layer drop, which DDP must tolerate), checked by what each rank recorded itself: two distinct
    processes of a world of 2, each trained on its own half of the 8 utterances every epoch, and equal weights."""
    hook, records = tmp_path / "hook", tmp_path / "records"
    hook.mkdir(), records.mkdir()
    (hook / "sitecustomize.py").write_text(RANK_RECORDER)
    out, epochs = tmp_path / "ddp", 2
    proc = run_zoo(
        "train", *TINY, "--data-dir", str(speech), "--epochs", str(epochs), "--nproc", "2", "--device", "cpu",
        "--set", "best_metric=", "--out", str(out), sites=[hook], env={"TEST_RANK_RECORDS": str(records)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ranks = [json.loads(p.read_text()) for p in sorted(records.iterdir())]
    assert sorted((r["rank"], r["world"]) for r in ranks) == [("0", "2"), ("1", "2")]
    assert len({r["pid"] for r in ranks}) == 2
    per_epoch = len(SENTENCES) // 2  # the tiny batches of 4: one batch per rank and epoch
    for epoch in range(epochs):
        halves = [r["trained_on"][epoch * per_epoch : (epoch + 1) * per_epoch] for r in ranks]
        assert sorted(halves[0] + halves[1]) == sorted(s.upper() for s in SENTENCES), f"epoch {epoch + 1}"
    assert all(len(r["trained_on"]) == epochs * per_epoch for r in ranks)
    assert ranks[0]["weights"] == ranks[1]["weights"]
    saved = load_file(out / "model.safetensors")  # what rank 0 wrote: the weights both ranks evaluated last
    digest = hashlib.sha256()
    for key, tensor in sorted(saved.items()):
        digest.update(key.encode() + tensor.contiguous().numpy().tobytes())
    assert digest.hexdigest() == ranks[0]["weights"]


def test_fine_tuning_starts_from_the_960h_weights(run_zoo, olah_session_cache, hf_wav2vec2_base, tmp_path):
    folder = tmp_path / "speech"
    write_manifest(folder, SENTENCES[:2])
    write_manifest(folder, SENTENCES[2:3], name="dev.tsv")
    out = tmp_path / "run"
    proc = run_zoo(
        "train", "wav2vec2_base", "--dataset", "speech-manifest", "--data-dir", str(folder), "--epochs", "1",
        "--batch-size", "2", "--set", "freeze_transformer_steps=100", "--out", str(out), "--json",
        env=olah_session_cache,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    trained, base = load_file(out / "model.safetensors"), hf_wav2vec2_base[2].state_dict()  # torchaudio's import
    assert trained.keys() == base.keys()
    same = {k for k in base if torch.equal(trained[k], base[k])}
    assert {k for k in base if k.startswith(("feature_extractor.", "encoder."))} <= same  # both frozen throughout
    assert "aux.weight" not in same  # the CTC head learned
    config = json.loads((out / "config.json").read_text())
    assert config["base_weights"] == "wav2vec2_base.960h"


def test_no_catalog_weights_means_say_so(run_zoo, tmp_path):
    write_speech(tmp_path / "a.wav", "hello")
    (tmp_path / "train.tsv").write_text("a.wav\thello\n")
    proc = run_zoo("train", "wav2vec2_tiny", "--dataset", "speech-manifest", "--data-dir", str(tmp_path))
    assert proc.returncode == 2
    assert "no pretrained weights in the catalog: pass --set pretrained=false" in proc.stderr
