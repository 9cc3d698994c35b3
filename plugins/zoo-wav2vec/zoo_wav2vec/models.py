"""wav2vec2 models from torchaudio (`wav2vec2_model`, `wavlm_model`), with a CTC head (torchaudio's `aux` layer)
sized to the vocabulary. `base` and `large` are the paper's sizes; `tiny` is a small config for tests and smoke
runs; any other shape comes from a checkpoint's config.json (see transformers_repos)."""

from __future__ import annotations

from typing import Any

from torch import nn

# The convolutional feature encoder: (channels, kernel, stride) per layer; 320 samples (20 ms) per frame.
PAPER_CONV = [(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2
TINY_CONV = [(32, 10, 5)] + [(32, 3, 2)] * 4 + [(32, 2, 2)] * 2

# The shape arguments of torchaudio's builders, per family (dropouts and the head are build's own arguments).
SHAPE = (
    "extractor_mode",
    "extractor_conv_layer_config",
    "extractor_conv_bias",
    "encoder_embed_dim",
    "encoder_pos_conv_kernel",
    "encoder_pos_conv_groups",
    "encoder_num_layers",
    "encoder_num_heads",
    "encoder_ff_interm_features",
    "encoder_layer_norm_first",
)
FAMILIES = {"wav2vec2": SHAPE, "wavlm": (*SHAPE, "encoder_num_buckets", "encoder_max_distance")}
# What a family adds to a size's shape: WavLM's relative position buckets (WavLM BASE's, transformers' defaults).
FAMILY_DEFAULTS: dict[str, dict[str, Any]] = {
    "wav2vec2": {},
    "wavlm": {"encoder_num_buckets": 320, "encoder_max_distance": 800},
}

ARCHS: dict[str, dict[str, Any]] = {
    "base": {
        "extractor_mode": "group_norm",
        "extractor_conv_layer_config": PAPER_CONV,
        "extractor_conv_bias": False,
        "encoder_embed_dim": 768,
        "encoder_pos_conv_kernel": 128,
        "encoder_pos_conv_groups": 16,
        "encoder_num_layers": 12,
        "encoder_num_heads": 12,
        "encoder_ff_interm_features": 3072,
        "encoder_layer_norm_first": False,
    },
    "large": {
        "extractor_mode": "group_norm",
        "extractor_conv_layer_config": PAPER_CONV,
        "extractor_conv_bias": False,
        "encoder_embed_dim": 1024,
        "encoder_pos_conv_kernel": 128,
        "encoder_pos_conv_groups": 16,
        "encoder_num_layers": 24,
        "encoder_num_heads": 16,
        "encoder_ff_interm_features": 4096,
        "encoder_layer_norm_first": False,
    },
    "tiny": {
        "extractor_mode": "group_norm",
        "extractor_conv_layer_config": TINY_CONV,
        "extractor_conv_bias": False,
        "encoder_embed_dim": 96,
        "encoder_pos_conv_kernel": 16,
        "encoder_pos_conv_groups": 4,
        "encoder_num_layers": 2,
        "encoder_num_heads": 4,
        "encoder_ff_interm_features": 192,
        "encoder_layer_norm_first": False,
    },
}


def build(
    size: str = "base",
    vocab_size: int = 32,
    dropout: float = 0.1,
    architecture: dict[str, Any] | None = None,
    family: str = "wav2vec2",
) -> nn.Module:
    """torchaudio's wav2vec2 of `size` (or of `architecture`, torchaudio's shape arguments as a checkpoint's
    config.json gives them) with a CTC head of `vocab_size` outputs and one dropout for every layer. `family`
    "wavlm" builds torchaudio's WavLM (gated relative position bias) instead."""
    import torchaudio

    if architecture is None and size not in ARCHS:
        raise ValueError(f"size must be one of {sorted(ARCHS)}, got {size!r}")
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {sorted(FAMILIES)}, got {family!r}")
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be at least 2 (the CTC blank and one symbol), got {vocab_size}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    shape = dict(architecture) if architecture is not None else {**ARCHS[size], **FAMILY_DEFAULTS[family]}
    unknown = set(shape) - set(FAMILIES[family])
    if unknown:
        raise ValueError(f"unknown {family} architecture arguments: {', '.join(sorted(unknown))}")
    shape["extractor_conv_layer_config"] = [tuple(c) for c in shape["extractor_conv_layer_config"]]
    factory = torchaudio.models.wavlm_model if family == "wavlm" else torchaudio.models.wav2vec2_model
    return factory(
        **shape,
        encoder_projection_dropout=dropout,
        encoder_attention_dropout=dropout,
        encoder_ff_interm_dropout=dropout,
        encoder_dropout=dropout,
        encoder_layer_drop=dropout,
        aux_num_out=vocab_size,
    )
