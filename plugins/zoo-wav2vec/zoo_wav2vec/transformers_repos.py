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
MAX_SIZE = 1 << 16  # no real checkpoint is wider: a bigger number is damage, not a model
MAX_VOCAB = 1 << 20


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
    architecture = shape(config, family, where)
    vocab = vocabulary(repo, where)
    head = config.get("vocab_size", len(vocab.tokens))
    if not isinstance(head, int) or isinstance(head, bool) or not 2 <= head <= MAX_VOCAB:
        raise UsageError(f"{where}: config.json's vocab_size is {head!r}, not a CTC head's size")
    try:  # the head decides: tokens it cannot emit (an added <s>, </s>) go, ids no token names are ""
        vocab = replace(vocab, tokens=(vocab.tokens + ("",) * head)[:head])
    except ValueError as exc:
        raise UsageError(f"{where}: its {head} outputs do not cover its CTC vocabulary: {exc}") from None
    pad_id = config.get("pad_token_id")
    if isinstance(pad_id, int) and pad_id != vocab.blank:
        raise UsageError(f"{where}: config.json's pad_token_id {pad_id} is not its tokenizer's pad token {vocab.blank}")
    preprocessor = feature_extractor(repo)
    rate = preprocessor.get("sampling_rate", 16_000)
    if not isinstance(rate, int) or isinstance(rate, bool) or not 1_000 <= rate <= 384_000:
        raise UsageError(f"{where}: its feature extractor's sampling_rate is {rate!r}, not a sample rate")
    return Claim(
        model="wavlm_ctc" if family == "wavlm" else "wav2vec2_ctc",
        model_args={"family": family, "architecture": architecture, "vocab_size": len(vocab.tokens)},
        library="transformers",
        architecture=kind,
        task=TASK,
        labels=vocab.tokens,
        preprocessing={"sample_rate": rate, "normalize": preprocessor.get("do_normalize", True) is not False},
        convert=partial(convert, prefix=prefix, wavlm=family == "wavlm"),
        config={"vocabulary": vocab.to_config()},
    )


def feature_extractor(repo: ForeignRepo) -> dict[str, Any]:
    """The feature extractor's settings: preprocessor_config.json, or (transformers 5) processor_config.json's."""
    older = repo.json("preprocessor_config.json")
    if older is not None:
        return older
    newer = (repo.json("processor_config.json") or {}).get("feature_extractor")
    return newer if isinstance(newer, dict) else {}


def shape(config: dict[str, Any], family: str, where: str) -> dict[str, Any]:
    """torchaudio's shape arguments from a transformers config (torchaudio's _get_config / _get_config_wavlm)."""
    for key, allowed in (("feat_extract_activation", "gelu"), ("hidden_act", "gelu")):
        if config.get(key, allowed) != allowed:
            raise UsageError(f"{where}: {key} is {config[key]!r}; torchaudio's wav2vec2 uses {allowed!r}")
    for key in ("add_adapter", "conv_pos_batch_norm", "use_intermediate_ffn_before_adapter"):
        if config.get(key):
            raise UsageError(f"{where}: {key} is set, a variant torchaudio's wav2vec2 does not build")
    if config.get("feat_proj_layer_norm") is False:
        raise UsageError(f"{where}: feat_proj_layer_norm is false; torchaudio's feature projection has a layer norm")

    def size(key: str) -> int:
        value = config.get(key, DEFAULTS.get(key))
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_SIZE:
            raise UsageError(f"{where}: config.json's {key} is {value!r}, not a size from 1 to {MAX_SIZE}")
        return value

    convs = [config.get(k, DEFAULTS[k]) for k in ("conv_dim", "conv_kernel", "conv_stride")]
    if not all(isinstance(c, list) and c for c in convs) or len({len(c) for c in convs}) != 1:
        raise UsageError(f"{where}: conv_dim, conv_kernel and conv_stride must be lists of one length")
    for name, values in zip(("conv_dim", "conv_kernel", "conv_stride"), convs, strict=True):
        for v in values:
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= MAX_SIZE:
                raise UsageError(f"{where}: config.json's {name} holds {v!r}, not a size from 1 to {MAX_SIZE}")
    norm = config.get("feat_extract_norm", "group")
    if norm not in ("group", "layer"):
        raise UsageError(f"{where}: feat_extract_norm is {norm!r}, not 'group' or 'layer'")
    out = {
        "extractor_mode": f"{norm}_norm",
        "extractor_conv_layer_config": [list(c) for c in zip(*convs, strict=True)],
        "extractor_conv_bias": config.get("conv_bias", False) is True,
        "encoder_embed_dim": size("hidden_size"),
        "encoder_pos_conv_kernel": size("num_conv_pos_embeddings"),
        "encoder_pos_conv_groups": size("num_conv_pos_embedding_groups"),
        "encoder_num_layers": size("num_hidden_layers"),
        "encoder_num_heads": size("num_attention_heads"),
        "encoder_ff_interm_features": size("intermediate_size"),
        "encoder_layer_norm_first": config.get("do_stable_layer_norm", False) is True,
    }
    for divisor in ("encoder_num_heads", "encoder_pos_conv_groups"):
        if out["encoder_embed_dim"] % out[divisor]:
            raise UsageError(f"{where}: hidden_size {out['encoder_embed_dim']} is not a multiple of {divisor}")
    if family == "wavlm":
        out["encoder_num_buckets"] = size("num_buckets")
        out["encoder_max_distance"] = size("max_bucket_distance")
    return out


def _token(value: Any) -> str | None:
    """A special token as tokenizer files write it: a string, or an AddedToken's {"content": ...}."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def vocabulary(repo: ForeignRepo, where: str) -> Vocabulary:
    """The CTC vocabulary of a transformers repo, as Wav2Vec2CTCTokenizer reads it."""
    tokenizer = repo.json("tokenizer_config.json") or {}
    special = repo.json("special_tokens_map.json") or {}
    vocab = repo.json("vocab.json")
    if vocab is None:
        raise UsageError(f"{where}: no readable vocab.json, so its CTC outputs cannot be spelled")
    if vocab and all(isinstance(v, dict) for v in vocab.values()):  # a multilingual vocab.json, one per language
        lang = tokenizer.get("target_lang")
        if lang not in vocab:
            raise UsageError(f"{where}: vocab.json holds languages {', '.join(sorted(vocab))} and no target_lang")
        vocab = vocab[lang]
    ids: dict[int, str] = {}
    for text, index in vocab.items():
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < MAX_VOCAB:
            raise UsageError(f"{where}: vocab.json maps {text!r} to {index!r}, not a token id")
        ids[index] = text
    added_tokens = tokenizer.get("added_tokens_decoder")
    for index, added in (added_tokens if isinstance(added_tokens, dict) else {}).items():
        if str(index).isdigit() and int(index) < MAX_VOCAB and _token(added):
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
            lowercase=tokenizer.get("do_lower_case") is True,
            clean_up=tokenizer.get("clean_up_tokenization_spaces") is True,
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
