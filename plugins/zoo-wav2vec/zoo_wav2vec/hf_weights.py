"""Weights in the transformers layout (Wav2Vec2ForCTC: config.json, vocab.json, preprocessor_config.json) loaded
into torchaudio's model by renaming keys; no transformers package needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zoo.plugin import ConvertedWeights, ZooError
from zoo_wav2vec.models import ARCHS
from zoo_wav2vec.vocab import Vocabulary

# transformers prefix -> torchaudio prefix
PREFIXES = (
    ("wav2vec2.feature_extractor.", "feature_extractor."),
    ("wav2vec2.feature_projection.", "encoder.feature_projection."),
    ("wav2vec2.encoder.", "encoder.transformer."),
    ("lm_head.", "aux."),
)
DROPPED = ("wav2vec2.masked_spec_embed",)  # the pre-training mask embedding; CTC inference never uses it
# Old weight-norm names -> torch.nn.utils.parametrizations.weight_norm's (what torch's own load hook does).
WEIGHT_NORM = {".weight_g": ".parametrizations.weight.original0", ".weight_v": ".parametrizations.weight.original1"}


def rename(state_dict: dict[str, Any]) -> dict[str, Any]:
    """transformers key names -> torchaudio's; an unknown key is an error naming it."""
    out = {}
    for key, tensor in state_dict.items():
        if key in DROPPED:
            continue
        for old, new in PREFIXES:
            if key.startswith(old):
                name = new + key[len(old) :]
                break
        else:
            raise ZooError(f"unexpected key {key} in transformers wav2vec2 weights: is this a Wav2Vec2ForCTC model?")
        for old, new in WEIGHT_NORM.items():
            if name.endswith(old):
                name = name[: -len(old)] + new
        out[name] = tensor
    return out


def architecture(config: dict[str, Any]) -> dict[str, Any]:
    """A transformers Wav2Vec2Config as torchaudio wav2vec2_model arguments (the ones that shape the weights)."""
    try:
        return {
            "extractor_mode": f"{config['feat_extract_norm']}_norm",
            "extractor_conv_layer_config": [
                tuple(c) for c in zip(config["conv_dim"], config["conv_kernel"], config["conv_stride"], strict=True)
            ],
            "extractor_conv_bias": bool(config["conv_bias"]),
            "encoder_embed_dim": config["hidden_size"],
            "encoder_pos_conv_kernel": config["num_conv_pos_embeddings"],
            "encoder_pos_conv_groups": config["num_conv_pos_embedding_groups"],
            "encoder_num_layers": config["num_hidden_layers"],
            "encoder_num_heads": config["num_attention_heads"],
            "encoder_ff_interm_features": config["intermediate_size"],
            "encoder_layer_norm_first": bool(config["do_stable_layer_norm"]),
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise ZooError(f"config.json is not a transformers Wav2Vec2Config ({exc!r} missing or malformed)") from None


def size_of(config: dict[str, Any]) -> str:
    """Which of zoo's wav2vec2 sizes the config describes; another shape is an error naming the differences."""
    arch = architecture(config)
    for size, expected in ARCHS.items():
        if expected == arch:
            return size
    base = ARCHS["base"]
    differ = ", ".join(f"{k}={arch[k]}" for k in arch if k != "extractor_conv_layer_config" and arch[k] != base[k])
    raise ZooError(f"these wav2vec2 weights have a shape zoo does not build ({differ or 'conv layers'})")


def _json(folder: Path, name: str) -> dict[str, Any]:
    path = folder / name
    if not path.is_file():
        raise ZooError(f"{folder} has no {name}: transformers wav2vec2 weights come with one")
    try:
        return json.loads(path.read_text("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise ZooError(f"{path} is not valid JSON: {' '.join(str(exc).split())[:120]}") from None


def convert(folder: Path, state_dict: dict[str, Any], spec: Any = None) -> ConvertedWeights:
    """A pulled transformers repo as zoo weights: model args, renamed tensors, labels and preprocessing.
    `spec`, when given, is the zoo model the weights must fit (ModelSpec.convert_weights passes it)."""
    config = _json(folder, "config.json")
    size = size_of(config)
    expected_size = spec.kwargs["size"] if spec is not None else None
    if expected_size is not None and size != expected_size:
        raise ZooError(f"these are wav2vec2_{size} weights, not wav2vec2_{expected_size}")
    try:
        vocab = Vocabulary.from_json(_json(folder, "vocab.json"))
    except (ValueError, AttributeError) as exc:
        raise ZooError(f"{folder / 'vocab.json'} is not a CTC vocabulary: {exc}") from None
    preprocessor = _json(folder, "preprocessor_config.json") if (folder / "preprocessor_config.json").is_file() else {}
    preprocessing = {
        "sample_rate": int(preprocessor.get("sampling_rate", 16_000)),
        "normalize": bool(preprocessor.get("do_normalize", True)),
    }
    return ConvertedWeights(
        model_args={"size": size, "vocab_size": len(vocab.tokens)},
        state_dict=rename(state_dict),
        config={"labels": list(vocab.tokens), "preprocessing": preprocessing, "task": "automatic-speech-recognition"},
    )
