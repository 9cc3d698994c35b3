"""zoo plugin `wav2vec`: torchaudio's wav2vec2 with a CTC head, for speech recognition."""

from __future__ import annotations

import zoo
from zoo.specs import ModelSpec

# The character vocabulary of facebook/wav2vec2-base-960h: <pad> (the CTC blank), <s>, </s>, <unk>, '|', A-Z, "'".
VOCAB_SIZE = 32


@zoo.hookimpl
def register_models(register) -> None:
    for size in ("base", "large"):
        register(
            ModelSpec(
                name=f"wav2vec2_{size}",
                task="automatic-speech-recognition",
                factory="zoo_wav2vec.models:build",
                kwargs={"size": size, "vocab_size": VOCAB_SIZE},
                description=f"wav2vec 2.0 {size.upper()} (Baevski et al. 2020) with a CTC head, torchaudio's model",
                metadata={"sample_rate": 16000},
            )
        )
