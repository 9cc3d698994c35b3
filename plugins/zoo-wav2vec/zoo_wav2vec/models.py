"""wav2vec2 models from torchaudio, with a CTC head (torchaudio's `aux` layer) sized to the vocabulary."""

from __future__ import annotations

from torch import nn

BUILDERS = {"base": "wav2vec2_base", "large": "wav2vec2_large"}


def build(size: str = "base", vocab_size: int = 32, dropout: float = 0.1) -> nn.Module:
    """torchaudio.models.wav2vec2_<size>(aux_num_out=vocab_size), with one dropout for every layer."""
    import torchaudio

    if size not in BUILDERS:
        raise ValueError(f"size must be one of {sorted(BUILDERS)}, got {size!r}")
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be at least 2 (the CTC blank and one symbol), got {vocab_size}")
    builder = getattr(torchaudio.models, BUILDERS[size])
    return builder(
        encoder_projection_dropout=dropout,
        encoder_attention_dropout=dropout,
        encoder_ff_interm_dropout=dropout,
        encoder_dropout=dropout,
        encoder_layer_drop=dropout,
        aux_num_out=vocab_size,
    )
