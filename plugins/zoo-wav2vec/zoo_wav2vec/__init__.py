"""zoo plugin `wav2vec`: torchaudio's wav2vec2 with a CTC head, for speech recognition."""

from __future__ import annotations

from zoo.plugin import Claim, DatasetSpec, ForeignRepo, ModelSpec, RecipeSpec, hookimpl

# The character vocabulary of facebook/wav2vec2-base-960h: <pad> (the CTC blank), <s>, </s>, <unk>, '|', A-Z, "'".
VOCAB_SIZE = 32
TASK = "automatic-speech-recognition"
SIZES = {
    "base": "wav2vec 2.0 BASE (Baevski et al. 2020) with a CTC head, torchaudio's model",
    "large": "wav2vec 2.0 LARGE (Baevski et al. 2020) with a CTC head, torchaudio's model",
    "tiny": "a 2-layer wav2vec2 with a CTC head, for tests and smoke runs (no pretrained weights)",
}


# Shaped by a checkpoint's config.json (a transformers repo's), BASE-sized when built bare.
FROM_CONFIG = {
    "wav2vec2_ctc": ("wav2vec2", "wav2vec2 or HuBERT with a CTC head, of any shape a transformers config.json gives"),
    "wavlm_ctc": ("wavlm", "WavLM (gated relative position bias) with a CTC head, shaped by a config.json"),
}


@hookimpl
def register_models(register) -> None:
    for size, description in SIZES.items():
        register(
            ModelSpec(
                name=f"wav2vec2_{size}",
                task=TASK,
                factory="zoo_wav2vec.models:build",
                kwargs={"size": size, "vocab_size": VOCAB_SIZE},
                description=description,
                default_recipe="wav2vec2-ctc-finetune",
                metadata={"sample_rate": 16000},
            )
        )
    for name, (family, description) in FROM_CONFIG.items():
        register(
            ModelSpec(
                name=name,
                task=TASK,
                factory="zoo_wav2vec.models:build",
                kwargs={"size": "base", "family": family, "vocab_size": VOCAB_SIZE},
                description=description,
                default_recipe="wav2vec2-ctc-finetune",
                metadata={"sample_rate": 16000},
            )
        )


@hookimpl
def claim_repo(repo: ForeignRepo) -> Claim | None:
    """transformers' Wav2Vec2ForCTC, HubertForCTC and WavLMForCTC repositories."""
    from zoo_wav2vec.transformers_repos import claim

    return claim(repo)


@hookimpl
def register_datasets(register) -> None:
    register(
        DatasetSpec(
            name="librispeech",
            task=TASK,
            factory="zoo_wav2vec.data:librispeech",
            sample="zoo_wav2vec.samples:librispeech",
            hub="zoo_wav2vec.hub:speech",
            formats=("flac + trans.txt", "parquet"),
            description=(
                "LibriSpeech folders: <speaker>/<chapter>/*.flac with <speaker>-<chapter>.trans.txt, or its Hub repo "
                "(openslr/librispeech_asr: train.* splits train, validation.* validates)"
            ),
        )
    )
    register(
        DatasetSpec(
            name="speech-manifest",
            task=TASK,
            factory="zoo_wav2vec.data:speech_manifest",
            sample="zoo_wav2vec.samples:speech_manifest",
            hub="zoo_wav2vec.hub:speech",
            formats=("tsv", "parquet"),
            description=(
                "A TSV of audio path (relative to the manifest) and transcript; WAV, FLAC or OGG; or a Hub dataset "
                "repo with an Audio and a transcript column (hf://datasets/ORG/NAME)"
            ),
        )
    )


@hookimpl
def register_recipes(register) -> None:
    from zoo_wav2vec.recipe_defaults import CPU, GPU, LIMITS

    register(
        RecipeSpec(
            name="wav2vec2-ctc-finetune",
            model="wav2vec2_*",
            dataset="librispeech",
            task=TASK,
            description="CTC fine-tuning: frozen feature encoder, tri-stage AdamW, length-bucketed batches; WER, CER",
            cpu_defaults=CPU,
            gpu_defaults=GPU,
            metrics=("wer", "cer", "loss"),
            factory="zoo_wav2vec.recipe:Wav2Vec2CTCFinetune",
            limits=LIMITS,
        )
    )
