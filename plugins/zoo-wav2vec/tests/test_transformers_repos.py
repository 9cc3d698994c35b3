"""transformers' CTC speech repositories (Wav2Vec2ForCTC, HubertForCTC, WavLMForCTC), saved by transformers itself
(save_pretrained, safetensors, sharded or not), published to the test Hub with huggingface_hub's upload_folder and
loaded by zoo. transformers is the reference: the same logits, and the same greedy transcript as the processor's
batch_decode of its argmax."""

import json
import resource
import subprocess

import pytest
import soundfile
import torch
from espeak import write_speech
from huggingface_hub import HfApi
from zoo_fixtures import WAV2VEC2_VOCAB, ZOO, assert_clean_error, save_transformers_ctc

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

    # transformers' transcript was computed on the CPU: pinned, so that a GPU box compares the same arithmetic
    proc = run_zoo("predict", f"speech/{name}", str(speech), "--json", "--device", "cpu",
                   env={"HF_ENDPOINT": hub_server.url})  # fmt: skip
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


def upload_damaged(hub_server, tmp_path, repo: str, files: dict[str, object] | None = None, **config) -> None:
    """A small Wav2Vec2ForCTC as transformers saves it, with config.json's fields changed and other JSON files
    replaced (`files`), uploaded as `repo`."""
    folder = tmp_path / repo.replace("/", "-")
    save_transformers_ctc(folder, **SMALL)
    saved = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**saved, **config}))
    for name, content in (files or {}).items():
        (folder / name).write_text(json.dumps(content))
    api = HfApi(endpoint=hub_server.url, token=hub_server.token)
    api.create_repo(repo, exist_ok=True)
    api.upload_folder(repo_id=repo, folder_path=folder)


TOKENIZER = {"pad_token": "<pad>", "unk_token": "<unk>", "word_delimiter_token": "|"}
# Fields of the repo's JSON files a hostile repo can hold, with the file and field zoo names and why.
HOSTILE = [
    ({"hidden_size": 65536}, {}, "config.json", "hidden_size", "an integer in [1, 8192], got 65536"),
    ({"intermediate_size": 10**40}, {}, "config.json", "intermediate_size", "got a larger integer"),
    ({"num_hidden_layers": 2.5}, {}, "config.json", "num_hidden_layers", "an integer in [1, 256], got 2.5"),
    ({"conv_dim": [16, "24", 24]}, {}, "config.json", "conv_dim[1]", "an integer in [1, 8192], got '24'"),
    ({"conv_bias": "yes"}, {}, "config.json", "conv_bias", "must be true or false, got 'yes'"),
    ({"vocab_size": 10**9}, {}, "config.json", "vocab_size", "an integer in [2, 131072], got 1000000000"),
    ({"id2label": {"0": "LABEL_0", "one": "LABEL_1"}}, {}, "config.json", "id2label.one (a key)", "got 'one'"),
    ({}, {"vocab.json": {"<pad>": 0, "a": "1"}}, "vocab.json", "a", "must be an integer in [0, 131072)"),
    ({}, {"vocab.json": {"<pad>": 0, "a": 1.5}}, "vocab.json", "a", "got 1.5"),
    ({}, {"tokenizer_config.json": {**TOKENIZER, "added_tokens_decoder": {"x": {"content": "<s>"}}}},
     "tokenizer_config.json", "added_tokens_decoder.x (a key)", "got 'x'"),
    ({}, {"tokenizer_config.json": {**TOKENIZER, "do_lower_case": "no"}}, "tokenizer_config.json",
     "do_lower_case", "must be true or false"),
    ({}, {"preprocessor_config.json": {"sampling_rate": "16k"}}, "preprocessor_config.json", "sampling_rate",
     "an integer in [1000, 384000], got '16k'"),
]  # fmt: skip


@pytest.mark.parametrize(("config", "files", "path", "field", "reason"), HOSTILE, ids=[h[3] for h in HOSTILE])
def test_hostile_files_are_refused_naming_the_file_and_field(run_zoo, hub_server, tmp_path, config, files, path,
                                                             field, reason):  # fmt: skip
    """`zoo info` reads the repo's JSON files alone: each damage is one line naming the file and field, exit 2."""
    upload_damaged(hub_server, tmp_path, "hostile/speech", files, **config)
    proc = run_zoo("info", "hostile/speech", env={"HF_ENDPOINT": hub_server.url})
    assert_clean_error(proc, 2, f"{path} of hostile/speech: field '{field}'", reason)


def test_a_config_that_claims_more_than_its_weights_hold_never_allocates_it(zoo_env, hub_server, tmp_path):
    """A config.json within every range (8192 wide, 32768 feed-forward, 24 layers: 77 GB of float32) beside weights
    32 wide: the model is built on the meta device and compared with the safetensors header, so predict refuses it
    naming the shapes. Run under an 8 GB address-space limit: building it for real could only fail, never pass."""
    upload_damaged(hub_server, tmp_path, "hostile/wide", hidden_size=8192, intermediate_size=32768,
                   num_hidden_layers=24, num_attention_heads=16)  # fmt: skip
    soundfile.write(tmp_path / "quiet.wav", [0.0] * 1600, 16000)
    limit = 8 << 30
    proc = subprocess.run(
        [str(ZOO), "predict", "hostile/wide", str(tmp_path / "quiet.wav"), "--device", "cpu"],
        env={**zoo_env, "HF_ENDPOINT": hub_server.url}, capture_output=True, text=True, timeout=300,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)),
    )  # fmt: skip
    assert_clean_error(
        proc, 2, "hostile/wide: the model its config.json describes does not fit its weights",
        "feature_projection.projection.weight is [8192, 24] in the model, [32, 24] in the weights",
    )  # fmt: skip
