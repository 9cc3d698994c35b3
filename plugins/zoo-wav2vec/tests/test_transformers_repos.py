"""transformers' CTC speech repositories (Wav2Vec2ForCTC, HubertForCTC, WavLMForCTC), saved by transformers itself
(save_pretrained, safetensors, sharded or not), published to the test Hub with huggingface_hub's upload_folder and
loaded by zoo. transformers is the reference: the same logits, and the same greedy transcript as the processor's
batch_decode of its argmax."""

import json

import pytest
import soundfile
import torch
from espeak import write_speech
from huggingface_hub import HfApi
from zoo_fixtures import WAV2VEC2_VOCAB, assert_clean_error, save_transformers_ctc

import zoo

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
# An XLSR-style vocabulary: lower-case letters with accents, its own pad and unknown tokens, the pad not first.
XLSR_VOCAB = ["[UNK]", "|", *"abcdefghijklmnopqrstuvwxyzàéèíñóúüß'", "[PAD]"]
CONFIGS = {
    # wav2vec2-base-style: group norm, no conv bias, post-LN transformer
    "wav2vec2-base-style": ("Wav2Vec2ForCTC", WAV2VEC2_VOCAB, {}, {}, None),
    # XLSR/large-lv60-style: layer norm and bias in the feature encoder, stable layer norm, sharded safetensors
    "wav2vec2-xlsr-style": (
        "Wav2Vec2ForCTC",
        XLSR_VOCAB,
        {"feat_extract_norm": "layer", "conv_bias": True, "do_stable_layer_norm": True, "num_hidden_layers": 3},
        {"pad_token": "[PAD]", "unk_token": "[UNK]"},
        "40KB",
    ),
    # HuBERT: wav2vec2's layout under a `hubert.` prefix; a tokenizer that lower-cases its output
    "hubert": ("HubertForCTC", WAV2VEC2_VOCAB, {"num_attention_heads": 2}, {"do_lower_case": True}, None),
    # WavLM: gated relative position bias, q/k/v projections that torchaudio keeps as one in_proj
    "wavlm": ("WavLMForCTC", WAV2VEC2_VOCAB, {"num_buckets": 32, "max_bucket_distance": 64}, {}, "60KB"),
}


@pytest.fixture(scope="module")
def published(hub_server, tmp_path_factory):
    """`published(name)`: the transformers model and processor, uploaded to speech/<name> through the LFS API."""
    made: dict[str, tuple] = {}
    api = HfApi(endpoint=hub_server.url, token=hub_server.token)

    def publish(name: str):
        if name not in made:
            kind, vocab, config, tokenizer, shard = CONFIGS[name]
            folder = tmp_path_factory.mktemp(name)
            model, processor = save_transformers_ctc(
                folder, kind, vocab, seed=len(made), tokenizer=tokenizer, max_shard_size=shard, **{**SMALL, **config}
            )
            api.create_repo(f"speech/{name}", exist_ok=True)
            api.upload_folder(repo_id=f"speech/{name}", folder_path=folder)
            made[name] = (model, processor)
        return made[name]

    return publish


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """Spoken words at 16 kHz, the rate the models take (eSpeak speaks at 22.05 kHz)."""
    import torchaudio

    folder = tmp_path_factory.mktemp("speech")
    samples, rate = soundfile.read(write_speech(folder / "espeak.wav", "open the pod bay doors"), dtype="float32")
    wave = torchaudio.functional.resample(torch.from_numpy(samples), rate, 16000)
    soundfile.write(folder / "speech.wav", wave.numpy(), 16000)
    return folder / "speech.wav"


def reference(model, processor, path) -> tuple[torch.Tensor, torch.Tensor, str]:
    samples, rate = soundfile.read(path, dtype="float32")
    inputs = processor(samples, sampling_rate=rate, return_tensors="pt").input_values
    with torch.no_grad():
        logits = model(inputs).logits
    return inputs, logits[0], processor.batch_decode(logits.argmax(-1))[0]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_logits_and_transcript_equal_transformers(run_zoo, hub_server, published, speech, name):
    model, processor = published(name)
    ours, config = zoo.load_pretrained(f"speech/{name}", hub=hub_server.url)
    assert config["claimed"] == {"plugin": "wav2vec", "library": "transformers", "architecture": CONFIGS[name][0]}
    inputs, logits, transcript = reference(model, processor, speech)
    with torch.no_grad():
        our_logits = ours.eval()(inputs)[0][0]
    difference = (our_logits - logits).abs().max().item()
    print(f"largest absolute logit difference, zoo vs transformers ({name}): {difference:.3g}")
    assert torch.allclose(our_logits, logits, atol=1e-4), difference

    proc = run_zoo("predict", f"speech/{name}", str(speech), "--json", env={"HF_ENDPOINT": hub_server.url})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [{"input": str(speech), "output": transcript}]


def test_the_vocabulary_comes_from_the_tokenizer(hub_server, published):
    published("wav2vec2-xlsr-style")
    _, config = zoo.load_pretrained("speech/wav2vec2-xlsr-style", hub=hub_server.url)
    assert config["labels"] == XLSR_VOCAB
    assert config["vocabulary"] == {
        "blank": XLSR_VOCAB.index("[PAD]"),
        "delimiter": "|",
        "unknown": "[UNK]",
        "lowercase": False,
        "clean_up": False,
    }
    assert config["model_args"]["architecture"]["encoder_layer_norm_first"] is True
    assert config["model_args"]["architecture"]["extractor_mode"] == "layer_norm"
    assert config["preprocessing"] == {"sample_rate": 16000, "normalize": True}


def test_sharded_checkpoint_is_pulled_and_verified_shard_by_shard(hub_server, published):
    published("wav2vec2-xlsr-style")
    pulled = zoo.hub.pull.download("speech/wav2vec2-xlsr-style", hub=hub_server.url)
    index = json.loads((pulled.path / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert len(shards) > 2
    verified = {f.path: f for f in pulled.files}
    assert set(shards) <= set(verified) and "model.safetensors.index.json" in verified


def test_info_describes_a_claimed_repo(run_zoo, hub_server, published):
    model, _ = published("wavlm")
    proc = run_zoo("info", "speech/wavlm", "--json", env={"HF_ENDPOINT": hub_server.url})
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["name"] == "wavlm_ctc" and info["task"] == "automatic-speech-recognition"
    assert info["labels"] == {"count": 32, "first": WAV2VEC2_VOCAB[:3]}
    assert info["claimed"]["architecture"] == "WavLMForCTC"
    # transformers counts the pre-training mask embedding, which CTC inference (and torchaudio) leaves out
    assert info["params"] == sum(p.numel() for p in model.parameters()) - model.wavlm.masked_spec_embed.numel()


def test_fine_tuning_from_a_claimed_repo(run_zoo, hub_server, published, tmp_path):
    from espeak import SENTENCES, write_manifest
    from safetensors.torch import load_file

    model, _ = published("wav2vec2-xlsr-style")
    folder = tmp_path / "speech"
    write_manifest(folder, SENTENCES[:2])
    out = tmp_path / "run"
    proc = run_zoo(
        "train", "wav2vec2_ctc", "--dataset", "speech-manifest", "--data-dir", str(folder), "--epochs", "1",
        "--batch-size", "2", "--set", "base=speech/wav2vec2-xlsr-style", "--set", "freeze_transformer_steps=100",
        "--out", str(out), env={"HF_ENDPOINT": hub_server.url},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["base_weights"] == "speech/wav2vec2-xlsr-style" and config["labels"] == XLSR_VOCAB
    assert config["model_args"]["architecture"]["encoder_num_layers"] == 3
    trained = load_file(out / "model.safetensors")
    base = model.wav2vec2.encoder.layers[0].attention.k_proj.weight
    assert torch.equal(trained["encoder.transformer.layers.0.attention.k_proj.weight"], base)  # frozen, from the repo
    evaluated = run_zoo("eval", str(out), "--dataset", "speech-manifest", "--data-dir", str(folder), "--json")
    assert evaluated.returncode == 0, evaluated.stderr


def test_repos_zoo_cannot_load_say_why(run_zoo, hub_server):
    api = HfApi(endpoint=hub_server.url, token=hub_server.token)
    for repo, config in (
        ("speech/conformer", {"architectures": ["Wav2Vec2ConformerForCTC"], "transformers_version": "5.0"}),
        ("speech/relu", {"architectures": ["Wav2Vec2ForCTC"], "hidden_act": "relu"}),
    ):
        api.create_repo(repo, exist_ok=True)
        api.upload_file(path_or_fileobj=json.dumps(config).encode(), path_in_repo="config.json", repo_id=repo)
    env = {"HF_ENDPOINT": hub_server.url}
    assert_clean_error(
        run_zoo("pull", "speech/conformer", env=env),
        2,
        "no plugin can load speech/conformer",
        "library transformers and architectures Wav2Vec2ConformerForCTC",
        "Asked plugins:",
        "resnet",
        "wav2vec",
    )
    assert_clean_error(run_zoo("info", "speech/relu", env=env), 2, "hidden_act is 'relu'")
