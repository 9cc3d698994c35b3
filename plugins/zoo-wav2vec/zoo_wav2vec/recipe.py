"""`wav2vec2-ctc-finetune`: CTC fine-tuning of wav2vec2 as in the paper (fairseq's recipe): the convolutional
feature encoder frozen, the transformer optionally frozen for the first steps, AdamW with the tri-stage schedule,
length-bucketed batches with padding masks; WER and CER by greedy decoding. Prediction transcribes files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from zoo.plugin import Agreement, Axis, Data, ExampleInputs, Recipe, UsageError, ZooError
from zoo_wav2vec import audio
from zoo_wav2vec.audio import normalized
from zoo_wav2vec.metrics import error_counts
from zoo_wav2vec.transcribe import MIN_SECONDS, batch_greedy, frame_logits, greedy
from zoo_wav2vec.vocab import DEFAULT, Vocabulary


def unwrap(model: Any) -> Any:
    """The plain model inside DDP and torch.compile wrappers."""
    while hasattr(model, "module") or hasattr(model, "_orig_mod"):
        model = getattr(model, "module", None) or model._orig_mod
    return model


class Wav2Vec2CTCFinetune(Recipe):
    # Layer drop skips random layers, and the transformer may sit out the first steps: DDP must expect that.
    find_unused_parameters = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._base: tuple[Any, dict[str, Any]] | None = None
        self._encoder_frozen = False

    @classmethod
    def check_settings(cls, config: Any) -> None:
        o = config.options
        if o["overlap_seconds"] >= o["chunk_seconds"]:
            raise UsageError(
                f"overlap_seconds ({o['overlap_seconds']}) must be below chunk_seconds ({o['chunk_seconds']})"
            )

    # Where the weights and the vocabulary come from ------------------------------------------------------------

    def base_name(self) -> str:
        """The weights to start from: the `base` option, else the model's default catalog weights."""
        if self.options["base"]:
            return self.options["base"]
        weights = self.pretrained.entries(self.model_spec)
        if not weights:
            raise UsageError(
                f"{self.model_spec.name} has no pretrained weights in the catalog: pass --set pretrained=false "
                "to train from random weights, or --set base=NAME for weights to start from."
            )
        return weights[0].name

    def base(self) -> tuple[Any, dict[str, Any]]:
        """The pretrained model and its config, pulled once."""
        if self._base is None:
            self._base = self.pretrained.load(
                self.base_name(), hub=self.options["hub"] or None, dropout=self.options["dropout"]
            )
        return self._base

    def weights_config(self) -> dict[str, Any]:
        """Labels and preprocessing: the run's when evaluating, the base weights' when fine-tuning."""
        if self.run_config is not None:
            return self.run_config
        if self.options["pretrained"]:
            return self.base()[1]
        return {"labels": list(DEFAULT.tokens), "preprocessing": {"sample_rate": audio.SAMPLE_RATE, "normalize": True}}

    @staticmethod
    def vocabulary(config: dict[str, Any]) -> Vocabulary:
        """The tokens (`labels`) and decoding options (`vocabulary`) a run or pretrained weights record."""
        if not config.get("labels"):
            return DEFAULT
        return Vocabulary(tuple(config["labels"]), **config.get("vocabulary", {"unknown": "<unk>"}))

    # Data and model ------------------------------------------------------------------------------------------

    def build_data(self) -> Data:
        config = self.weights_config()
        self.vocab = self.vocabulary(config)
        o = self.options
        data = self.dataset_spec.build(
            data_dir=self.data_dir,
            vocab=self.vocab,
            normalize=bool(config.get("preprocessing", {}).get("normalize", True)),
            train_split=o["train_split"],
            val_split=o["val_split"],
            val_fraction=o["val_fraction"],
            seed=self.config.seed,
            max_seconds=o["max_seconds"],
        )
        if o["pretrained"] and self.run_config is None:
            data.info["base_weights"] = self.base_name()
        return data

    def model_args(self, data: Data) -> dict[str, Any]:
        """The base weights' shape (any a checkpoint's config.json gave), the vocabulary's size, the dropout."""
        shape = self.base()[1].get("model_args", {}) if self.options["pretrained"] and self.run_config is None else {}
        return {**shape, "vocab_size": len(data.info["labels"]), "dropout": self.options["dropout"]}

    def build_model(self, args: dict[str, Any]) -> Any:
        if self.options["pretrained"]:
            model = self.base()[0]
            if model.aux.out_features != args["vocab_size"]:  # cannot happen: the data uses the weights' vocabulary
                raise UsageError(f"the base weights predict {model.aux.out_features} symbols, not {args['vocab_size']}")
        else:
            model = self.model_spec.build(**args)
        if self.options["freeze_feature_encoder"]:
            model.feature_extractor.requires_grad_(False)
        return model

    # Training ------------------------------------------------------------------------------------------------

    def _follow_freeze_schedule(self, model: Any) -> None:
        """The transformer (and feature projection) learn only after `freeze_transformer_steps` steps."""
        frozen = model.training and self.global_step < self.options["freeze_transformer_steps"]
        if frozen != self._encoder_frozen:
            unwrap(model).encoder.requires_grad_(not frozen)
            self._encoder_frozen = frozen

    def ctc_losses(self, model: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Any, torch.Tensor]:
        """Per-utterance CTC loss divided by the target length, with the logits and their frame counts."""
        logits, frames = model(batch["waves"], batch["lengths"])
        log_probs = F.log_softmax(logits.float(), dim=-1).transpose(0, 1)  # [frames, batch, vocab]
        losses = F.ctc_loss(
            log_probs,
            batch["targets"],
            frames,
            batch["target_lengths"],
            blank=self.vocab.blank,
            reduction="none",
            zero_infinity=True,  # audio too short for its transcript: no gradient instead of inf
        )
        return losses / batch["target_lengths"].clamp_min(1), logits, frames

    def loss(self, model: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        self._follow_freeze_schedule(model)
        losses, _, _ = self.ctc_losses(model, batch)
        return losses.mean()

    def metrics(self, model: Any, batch: dict[str, torch.Tensor]) -> dict[str, tuple[float, float]]:
        losses, logits, frames = self.ctc_losses(model, batch)
        hypotheses = batch_greedy(logits, frames, self.vocab)
        targets, lengths = batch["targets"].cpu(), batch["target_lengths"].cpu()
        references = [self.vocab.spell(t[:n].tolist()) for t, n in zip(targets, lengths, strict=True)]
        if self.vocab.lowercase:  # decoding lower-cases, as the weights' tokenizer does
            references = [r.lower() for r in references]
        counts = error_counts(references, hypotheses)
        return {**counts, "loss": (losses.sum().item(), len(losses))}

    # Inference -----------------------------------------------------------------------------------------------

    def decode(self, source: str, run_config: dict[str, Any]) -> torch.Tensor:
        """An audio file as a mono waveform at the weights' sample rate; audio too short to transcribe is refused."""
        rate = self.sample_rate(run_config)
        wave = audio.load(Path(source), normalize=False, sample_rate=rate)
        check_length(wave, rate, Path(source).name)
        return wave

    def predict_batch(self, model: Any, samples: list[Any], top: int, run_config: dict[str, Any]) -> list[Any]:  # noqa: ARG002
        """The transcript of each waveform (long ones in overlapping chunks)."""
        vocab = self.vocabulary(run_config)
        rate = self.sample_rate(run_config)
        normalize = bool((run_config.get("preprocessing") or {}).get("normalize", True))
        o = self.options
        return [
            greedy(frame_logits(model, wave, rate, o["chunk_seconds"], o["overlap_seconds"], normalize), vocab)
            for wave in samples
        ]

    @staticmethod
    def sample_rate(run_config: dict[str, Any]) -> int:
        return int((run_config.get("preprocessing") or {}).get("sample_rate", audio.SAMPLE_RATE))

    # Export -------------------------------------------------------------------------------------------------

    def example_inputs(self, batch_size: int) -> ExampleInputs:
        """`batch_size` utterances of the run's validation split when its data is at hand, else speech-like
        sounds this plugin makes; cut to one length, normalised as prediction normalises them."""
        config = self.run_config or {}
        rate = self.sample_rate(config)
        waves, source = self._validation_waves(batch_size, rate)
        if waves is None:
            waves, source = example_sounds(batch_size, rate), "sounds zoo_wav2vec makes"
        if bool((config.get("preprocessing") or {}).get("normalize", True)):
            waves = torch.stack([normalized(w) for w in waves])
        axes = {
            0: Axis("batch", min=1, max=256),
            1: Axis(
                "time", min=round(MIN_EXPORT_SECONDS * rate), max=rate * 600, unit=f"samples of audio at {rate} Hz"
            ),
        }
        return ExampleInputs((waves,), ("waveforms",), (axes,), source)

    def _validation_waves(self, count: int, rate: int) -> tuple[torch.Tensor | None, str]:
        try:
            data = self.build_data()
        except (UsageError, ZooError, OSError, ValueError):
            return None, ""
        split = data.val if data.val is not None else data.train
        if len(split) < count:
            return None, ""
        waves = [split[i][0].float() for i in range(count)]
        length = min(len(w) for w in waves)
        if length < MIN_EXPORT_SECONDS * rate:
            return None, ""
        return torch.stack([w[:length] for w in waves]), f"the validation split of {self.dataset_spec.name}"

    def agreement(self, eager: Any, exported: Any, inputs: ExampleInputs) -> Agreement:  # noqa: ARG002
        vocab = self.vocabulary(self.run_config or {})
        same = sum(greedy(a, vocab) == greedy(b, vocab) for a, b in zip(eager, exported, strict=True))
        return Agreement("transcripts", int(same), len(eager))


#: the shortest audio an exported model takes: 0.1 s (five frames of 20 ms)
MIN_EXPORT_SECONDS = 0.1


def check_length(wave: torch.Tensor, rate: int, name: str) -> None:
    if wave.shape[-1] < MIN_SECONDS * rate:
        raise UsageError(
            f"{name}: {wave.shape[-1] / rate * 1000:.0f} ms of audio is too short to transcribe "
            f"(at least {MIN_SECONDS * 1000:.0f} ms)"
        )


def example_sounds(count: int, rate: int, seconds: float = 1.0, seed: int = 0) -> torch.Tensor:
    """`count` speech-like sounds (a voiced source whose pitch glides, shaped by moving formants, with pauses),
    made the same way every time: inputs for the parity gate when no speech data is at hand."""
    generator = torch.Generator().manual_seed(seed)
    t = torch.arange(round(seconds * rate)) / rate
    out = []
    for _ in range(count):
        f0 = 100 + 120 * torch.rand(1, generator=generator) + 30 * torch.sin(2 * torch.pi * 3 * t)
        phase = 2 * torch.pi * torch.cumsum(f0 / rate, 0)
        wave = sum(torch.sin(k * phase) / k for k in range(1, 12))
        formant = 500 + 1500 * torch.rand(1, generator=generator)
        wave = wave * (1 + 0.5 * torch.sin(2 * torch.pi * formant * t))
        syllables = (torch.sin(2 * torch.pi * (3 + 2 * torch.rand(1, generator=generator)) * t) > -0.3).float()
        noise = 0.01 * torch.randn(len(t), generator=generator)
        out.append(0.1 * wave * syllables + noise)
    return torch.stack(out)
