"""transformers' CTC speech repositories on the Hub (Wav2Vec2ForCTC, HubertForCTC, WavLMForCTC), built in
torchaudio from their config.json, as torchaudio's own `import_huggingface_model` maps them, without transformers.

The shape comes from config.json (feature-encoder norm and bias, stable layer norm, depth, width, heads); the
vocabulary from vocab.json with tokenizer_config.json/special_tokens_map.json (the pad token is the CTC blank,
the word delimiter, the unknown token, lower-casing); the preprocessing from preprocessor_config.json (or the
processor_config.json of transformers 5).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

from zoo.plugin import Claim, ForeignRepo, UsageError
from zoo.plugin.schema import ANY, Fields, Flag, ListOf, MapOf, Maybe, Number, OneOf, Rule, Text
from zoo_wav2vec.vocab import Vocabulary

# transformers class -> (its backbone's key prefix, torchaudio family)
ARCHITECTURES = {
    "Wav2Vec2ForCTC": ("wav2vec2", "wav2vec2"),
    "HubertForCTC": ("hubert", "wav2vec2"),
    "WavLMForCTC": ("wavlm", "wavlm"),
}
TASK = "automatic-speech-recognition"
# transformers' Wav2Vec2Config defaults, for the shape fields a config.json leaves out (WavLM's buckets too).
DEFAULTS = {
    "conv_dim": [512] * 7,
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "num_conv_pos_embeddings": 128,
    "num_conv_pos_embedding_groups": 16,
    "num_buckets": 320,
    "max_bucket_distance": 800,
}
# The ranges: published wav2vec2, HuBERT and WavLM checkpoints top out at XLS-R 2B's shape (hidden 1920, feed-forward
# 7680, 48 layers, 16 heads), 512-channel convolutions with kernels up to 10 and strides up to 5, a positional
# convolution 128 wide in 16 groups, WavLM's 320 buckets over 800 frames, character vocabularies of a few thousand.
# Each bound is at least four times that; the weights' header then checks the exact shape (ForeignRepo.check_weights).
MAX_VOCAB = 1 << 17


def size(high: int) -> Number:
    return Number(f"[1, {high}]", integer=True)


class IdKey(Rule):
    """A JSON object key that is a token id written as digits ("0", "31"), below MAX_VOCAB."""

    def check(self, value: Any, path: str) -> None:
        index = int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else value
        Number(f"[0, {MAX_VOCAB})", integer=True).check(index, path)

    def describe(self) -> str:
        return "a token id"


CONVS = ListOf(size(8192), min_length=1, max_length=32)
# config.json as transformers' Wav2Vec2Config / HubertConfig / WavLMConfig write it (the fields zoo reads).
CONFIG = Fields(
    {
        "architectures": ListOf(ANY, max_length=100),
        "feat_extract_activation": Text(max_length=50),
        "hidden_act": Text(max_length=50),
        "add_adapter": Maybe(Flag()),
        "conv_pos_batch_norm": Maybe(Flag()),
        "use_intermediate_ffn_before_adapter": Maybe(Flag()),
        "feat_proj_layer_norm": Maybe(Flag()),
        "feat_extract_norm": Text(choices=("group", "layer")),
        "conv_dim": CONVS,
        "conv_kernel": ListOf(size(1024), min_length=1, max_length=32),
        "conv_stride": ListOf(size(1024), min_length=1, max_length=32),
        "conv_bias": Flag(),
        "do_stable_layer_norm": Flag(),
        "hidden_size": size(8192),
        "intermediate_size": size(32768),
        "num_hidden_layers": size(256),
        "num_attention_heads": size(256),
        "num_conv_pos_embeddings": size(1024),
        "num_conv_pos_embedding_groups": size(1024),
        "num_buckets": size(8192),
        "max_bucket_distance": size(65536),
        "vocab_size": Number(f"[2, {MAX_VOCAB}]", integer=True),
        "pad_token_id": Maybe(Number(f"[0, {MAX_VOCAB})", integer=True)),
        # transformers turns its keys into ints; a CTC head ignores its length (often the default two labels)
        "id2label": MapOf(Text(max_length=1000), key=IdKey()),
    }
)
TOKEN_ID = Number(f"[0, {MAX_VOCAB})", integer=True)
# vocab.json: token -> id, or (multilingual, MMS) language -> {token -> id}
VOCAB = MapOf(OneOf((TOKEN_ID, MapOf(TOKEN_ID, max_length=MAX_VOCAB))), max_length=MAX_VOCAB)
# A special token as tokenizer files write it: a string, or an AddedToken's {"content": ...}.
TOKEN = Maybe(OneOf((Text(max_length=1000), Fields({"content": Text(max_length=1000)}, required=("content",)))))
SPECIAL_TOKENS = Fields({name: TOKEN for name in ("pad_token", "unk_token", "word_delimiter_token")})
TOKENIZER = Fields(
    {
        **SPECIAL_TOKENS.fields,
        "target_lang": Maybe(Text(max_length=100)),
        "do_lower_case": Flag(),
        "clean_up_tokenization_spaces": Flag(),
        "added_tokens_decoder": MapOf(TOKEN, key=IdKey(), max_length=MAX_VOCAB),
    }
)
FEATURE_EXTRACTOR = Fields({"sampling_rate": Number("[1000, 384000]", integer=True), "do_normalize": Flag()})
PROCESSOR = Fields({"feature_extractor": Maybe(FEATURE_EXTRACTOR)})


def claim(repo: ForeignRepo) -> Claim | None:
    """A claim for a transformers CTC speech repo, else None; one zoo recognises but cannot load is an error."""
    config = repo.config
    names = config.get("architectures")
    kind = (
        next((n for n in names if isinstance(n, str) and n in ARCHITECTURES), None) if isinstance(names, list) else None
    )
    if kind is None:
        return None
    prefix, family = ARCHITECTURES[kind]
    where = f"{repo.repo_id} ({kind})"
    config = repo.document("config.json", CONFIG) or {}
    architecture = shape(config, family, where)
    vocab = vocabulary(repo, where)
    head = config.get("vocab_size", len(vocab.tokens))
    try:  # the head decides: tokens it cannot emit (an added <s>, </s>) go, ids no token names are ""
        vocab = replace(vocab, tokens=(vocab.tokens + ("",) * head)[:head])
    except ValueError as exc:
        raise UsageError(f"{where}: its {head} outputs do not cover its CTC vocabulary: {exc}") from None
    pad_id = config.get("pad_token_id")
    if isinstance(pad_id, int) and pad_id != vocab.blank:
        raise UsageError(f"{where}: config.json's pad_token_id {pad_id} is not its tokenizer's pad token {vocab.blank}")
    preprocessor = feature_extractor(repo)
    found = Claim(
        model="wavlm_ctc" if family == "wavlm" else "wav2vec2_ctc",
        model_args={"family": family, "architecture": architecture, "vocab_size": len(vocab.tokens)},
        library="transformers",
        architecture=kind,
        task=TASK,
        labels=vocab.tokens,
        preprocessing={
            "sample_rate": preprocessor.get("sampling_rate", 16_000),
            "normalize": preprocessor.get("do_normalize", True),
        },
        convert=partial(convert, prefix=prefix, wavlm=family == "wavlm"),
        config={"vocabulary": vocab.to_config()},
    )
    repo.check_weights(found, _build, imports=("torchaudio",))
    return found


def _build(**args: Any) -> Any:
    from zoo_wav2vec.models import build

    return build(**args)


def feature_extractor(repo: ForeignRepo) -> dict[str, Any]:
    """The feature extractor's settings: preprocessor_config.json, or (transformers 5) processor_config.json's."""
    older = repo.document("preprocessor_config.json", FEATURE_EXTRACTOR)
    if older is not None:
        return older
    return (repo.document("processor_config.json", PROCESSOR) or {}).get("feature_extractor") or {}


def shape(config: dict[str, Any], family: str, where: str) -> dict[str, Any]:
    """torchaudio's shape arguments from a (checked) transformers config (torchaudio's _get_config and
    _get_config_wavlm)."""
    for key, allowed in (("feat_extract_activation", "gelu"), ("hidden_act", "gelu")):
        if config.get(key, allowed) != allowed:
            raise UsageError(f"{where}: {key} is {config[key]!r}; torchaudio's wav2vec2 uses {allowed!r}")
    for key in ("add_adapter", "conv_pos_batch_norm", "use_intermediate_ffn_before_adapter"):
        if config.get(key):
            raise UsageError(f"{where}: {key} is set, a variant torchaudio's wav2vec2 does not build")
    if config.get("feat_proj_layer_norm") is False:
        raise UsageError(f"{where}: feat_proj_layer_norm is false; torchaudio's feature projection has a layer norm")

    def given(key: str) -> Any:
        return config.get(key, DEFAULTS.get(key))

    convs = [config.get(k, DEFAULTS[k]) for k in ("conv_dim", "conv_kernel", "conv_stride")]
    if len({len(c) for c in convs}) != 1:  # transformers refuses these too ("Configuration for convolutional layers")
        raise UsageError(f"{where}: conv_dim, conv_kernel and conv_stride must be lists of one length")
    norm = config.get("feat_extract_norm", "group")
    out = {
        "extractor_mode": f"{norm}_norm",
        "extractor_conv_layer_config": [list(c) for c in zip(*convs, strict=True)],
        "extractor_conv_bias": config.get("conv_bias", False),
        "encoder_embed_dim": given("hidden_size"),
        "encoder_pos_conv_kernel": given("num_conv_pos_embeddings"),
        "encoder_pos_conv_groups": given("num_conv_pos_embedding_groups"),
        "encoder_num_layers": given("num_hidden_layers"),
        "encoder_num_heads": given("num_attention_heads"),
        "encoder_ff_interm_features": given("intermediate_size"),
        "encoder_layer_norm_first": config.get("do_stable_layer_norm", False),
    }
    for divisor in ("encoder_num_heads", "encoder_pos_conv_groups"):
        if out["encoder_embed_dim"] % out[divisor]:
            raise UsageError(f"{where}: hidden_size {out['encoder_embed_dim']} is not a multiple of {divisor}")
    if family == "wavlm":
        out["encoder_num_buckets"] = given("num_buckets")
        out["encoder_max_distance"] = given("max_bucket_distance")
    return out


def _token(value: Any) -> str | None:
    """A special token as tokenizer files write it: a string, or an AddedToken's {"content": ...}."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def vocabulary(repo: ForeignRepo, where: str) -> Vocabulary:
    """The CTC vocabulary of a transformers repo, as Wav2Vec2CTCTokenizer reads it."""
    tokenizer = repo.document("tokenizer_config.json", TOKENIZER) or {}
    special = repo.document("special_tokens_map.json", SPECIAL_TOKENS) or {}
    vocab = repo.document("vocab.json", VOCAB)
    if vocab is None:
        raise UsageError(f"{where}: no readable vocab.json, so its CTC outputs cannot be spelled")
    if vocab and all(isinstance(v, dict) for v in vocab.values()):  # a multilingual vocab.json, one per language
        lang = tokenizer.get("target_lang")
        if lang not in vocab:
            raise UsageError(f"{where}: vocab.json holds languages {', '.join(sorted(vocab))} and no target_lang")
        vocab = vocab[lang]
    ids: dict[int, str] = {}
    for text, index in vocab.items():
        if not isinstance(index, int):  # a language's vocabulary beside single tokens
            raise UsageError(f"{where}: vocab.json maps {text!r} to a mapping among token ids")
        ids[index] = text
    for index, added in (tokenizer.get("added_tokens_decoder") or {}).items():
        if _token(added):
            ids.setdefault(int(index), _token(added))
    if not ids:
        raise UsageError(f"{where}: vocab.json names no tokens")
    size = max(ids) + 1
    tokens = tuple(ids.get(i, "") for i in range(size))

    def option(name: str, default: str | None) -> str | None:
        return _token(special.get(name)) or _token(tokenizer.get(name)) or default

    pad, delimiter = option("pad_token", "<pad>"), option("word_delimiter_token", "|")
    if pad not in tokens:
        raise UsageError(f"{where}: its pad token {pad!r} (the CTC blank) is not in vocab.json")
    try:
        return Vocabulary(
            tokens,
            blank=tokens.index(pad),
            delimiter=delimiter,
            unknown=option("unk_token", None),
            lowercase=tokenizer.get("do_lower_case", False),
            clean_up=tokenizer.get("clean_up_tokenization_spaces", False),
        )
    except ValueError as exc:
        raise UsageError(f"{where}: not a CTC vocabulary: {exc}") from None


# Old weight-norm names -> torch.nn.utils.parametrizations.weight_norm's (what torch's own load hook does).
WEIGHT_NORM = {".weight_g": ".parametrizations.weight.original0", ".weight_v": ".parametrizations.weight.original1"}


def convert(state_dict: dict[str, Any], prefix: str, wavlm: bool) -> dict[str, Any]:
    """transformers tensor names -> torchaudio's, one shard at a time (torchaudio's import_huggingface_model):
    <prefix>.feature_extractor -> feature_extractor, <prefix>.feature_projection -> encoder.feature_projection,
    <prefix>.encoder -> encoder.transformer, lm_head -> aux; WavLM's q/k/v projections become one in_proj.
    A layer whose q, k and v are not all in `state_dict` keeps their names, so zoo converts them with the next shard."""
    import torch

    moves = (
        (f"{prefix}.feature_extractor.", "feature_extractor."),
        (f"{prefix}.feature_projection.", "encoder.feature_projection."),
        (f"{prefix}.encoder.", "encoder.transformer."),
        ("lm_head.", "aux."),
    )
    out: dict[str, Any] = {}
    for key, tensor in state_dict.items():
        if key == f"{prefix}.masked_spec_embed":  # the pre-training mask embedding; CTC inference never uses it
            continue
        name = next((new + key[len(old) :] for old, new in moves if key.startswith(old)), None)
        if name is None:
            raise UsageError(f"unexpected tensor {key} in a transformers {prefix} CTC checkpoint")
        for old, new in WEIGHT_NORM.items():
            if name.endswith(old):
                name = name[: -len(old)] + new
        out[name] = tensor
    if wavlm:
        for key in [k for k in out if k.endswith(".attention.q_proj.weight")]:
            layer = key[: -len(".q_proj.weight")]
            names = [f"{layer}.{p}_proj.{kind}" for kind in ("weight", "bias") for p in "qkv"]
            if not all(name in out for name in names):
                continue
            for kind in ("weight", "bias"):
                out[f"{layer}.attention.in_proj_{kind}"] = torch.cat(
                    [out.pop(f"{layer}.{p}_proj.{kind}") for p in "qkv"]
                )
        for key in [
            k for k in out if k.endswith(".attention.out_proj.weight") or k.endswith(".attention.out_proj.bias")
        ]:
            if ".attention.attention." not in key:
                out[key.replace(".attention.out_proj.", ".attention.attention.out_proj.")] = out.pop(key)
    return out
