"""GPU check: wav2vec2_base CTC fine-tuning throughput in audio seconds per second, bf16 autocast.

zoo's engine with the real `wav2vec2-ctc-finetune` recipe (frozen feature encoder, tri-stage AdamW, CTC loss)
against a hand-written loop doing the same arithmetic: torchaudio's model, AdamW, log_softmax + ctc_loss in fp32.
The batches come from a bank of random waveforms and transcripts kept on the device, so neither side pays for
input; the first epoch warms up and the second is timed. Random weights: their values do not change the speed.
Run on a GPU machine: bash bench/gpu_check.sh   (a CPU smoke test: --device cpu --steps 2 --batch 2 --seconds 2
--precision fp32)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F
from gpu_timing import Indices, hand_seconds, peak_bytes, reset_peak, steady_epoch
from zoo_wav2vec.models import build
from zoo_wav2vec.recipe import Wav2Vec2CTCFinetune
from zoo_wav2vec.recipe_defaults import CPU
from zoo_wav2vec.vocab import DEFAULT

from zoo.engine.settings import build_config
from zoo.engine.trainer import RunInfo, Trainer
from zoo.plugin import Data
from zoo.plugin.specs import DatasetSpec, ModelSpec

RATE, TARGET_CHARS_PER_SECOND = 16_000, 15  # LibriSpeech reads about 15 characters a second


def bank(device: torch.device, size: int, seconds: float) -> dict[str, torch.Tensor]:
    g = torch.Generator(device=device).manual_seed(0)
    samples, chars = int(seconds * RATE), int(seconds * TARGET_CHARS_PER_SECOND)
    return {
        "waves": torch.randn(size, samples, device=device, generator=g),
        "lengths": torch.full((size,), samples, device=device),
        "targets": torch.randint(5, len(DEFAULT.tokens), (size, chars), device=device, generator=g),
        "target_lengths": torch.full((size,), chars, device=device),
    }


class SyntheticSpeech(Wav2Vec2CTCFinetune):
    """The real recipe; each sample is an index into a bank of utterances on the device."""

    def build_data(self) -> Data:
        self.vocab = DEFAULT
        steps, batch = self.options["steps"], self.config.batch_size
        return Data(train=Indices(steps * batch), val=Indices(batch), info={"labels": list(DEFAULT.tokens)})

    def to_device(self, batch, device):
        if not hasattr(self, "_bank"):
            self._bank = bank(device, self.options["bank"], self.options["seconds"])
        index = batch.to(device, non_blocking=True) % self.options["bank"]
        return {k: v[index] for k, v in self._bank.items()}


def engine_run(args: argparse.Namespace, out: Path) -> tuple[float, int]:
    spec = ModelSpec(
        name="wav2vec2_base",
        task="automatic-speech-recognition",
        factory=build,
        kwargs={"size": "base", "vocab_size": len(DEFAULT.tokens)},
        plugin="bench",
    )
    data = DatasetSpec(name="synthetic-speech", task="automatic-speech-recognition", factory=lambda: None)
    options = {"steps": args.steps, "seconds": args.seconds, "bank": args.bank}
    config = build_config(
        {**CPU, **options, "pretrained": False, "num_workers": 0, "best_metric": ""},
        {"epochs": 2, "batch_size": args.batch, "device": args.device, "precision": args.precision},
        {"deterministic": "false", "checkpoint_every": "0", "log_every": "1000000"},
    )
    recipe = SyntheticSpeech(config, model_spec=spec, dataset_spec=data, data_dir=None)
    info = RunInfo("wav2vec2_base", "gpu-check", "synthetic-speech", "bench", None, spec.task, {})
    reset_peak()
    Trainer(recipe, info, out, quiet=True).fit()
    steady = steady_epoch(out)
    return steady["steps"] * args.batch * args.seconds / steady["train_seconds"], peak_bytes()


def hand_run(args: argparse.Namespace) -> tuple[float, int]:
    device = torch.device(args.device)
    model = build("base", vocab_size=len(DEFAULT.tokens)).to(device).train()
    model.feature_extractor.requires_grad_(False)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-5)
    data = bank(device, args.bank, args.seconds)
    dtype = torch.bfloat16 if args.precision == "bf16" else None
    reset_peak()

    def steps(n: int) -> None:
        for i in range(n):
            index = torch.arange(i * args.batch, (i + 1) * args.batch, device=device) % args.bank
            b = {k: v[index] for k, v in data.items()}
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                logits, frames = model(b["waves"], b["lengths"])
                log_probs = F.log_softmax(logits.float(), dim=-1).transpose(0, 1)
                loss = F.ctc_loss(log_probs, b["targets"], frames, b["target_lengths"], zero_infinity=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

    return args.steps * args.batch * args.seconds / hand_seconds(steps, args.steps, device), peak_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=16, help="utterances per step")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each utterance")
    parser.add_argument("--bank", type=int, default=64, help="distinct random utterances kept on the device")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--precision", default="bf16", choices=("bf16", "fp32"))
    args = parser.parse_args()
    name = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    print(
        f"wav2vec2_base CTC fine-tuning: {args.batch} x {args.seconds:g} s utterances per step, {args.precision}, "
        f"{args.steps} timed steps on {name} (torch {torch.__version__})"
    )
    print(f"{'':<26}{'audio s/s':>12}{'peak GiB':>10}{'engine/hand':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        hand, hand_peak = hand_run(args)
        engine, engine_peak = engine_run(args, Path(tmp) / "run")
    print(f"{'wav2vec2_base hand loop':<26}{hand:>12.0f}{hand_peak / 2**30:>10.2f}")
    print(f"{'wav2vec2_base zoo engine':<26}{engine:>12.0f}{engine_peak / 2**30:>10.2f}{engine / hand:>13.3f}")


if __name__ == "__main__":
    main()
