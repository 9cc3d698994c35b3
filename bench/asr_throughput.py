"""CPU transcription throughput of wav2vec2_base (random weights): audio seconds per wall second, side by side.

zoo: the recipe's predict, as `zoo predict` runs it (soundfile, mono, resample, per-window normalisation, 30 s
chunks with 5 s of context on each side, greedy CTC). Plain: soundfile + one torchaudio forward pass over the whole
file + argmax. The weights' values do not change the speed, so nothing is downloaded. The audio is a synthetic
16 kHz signal (tones and noise): throughput does not depend on what is said.
Run: .venv/bin/python bench/asr_throughput.py [--seconds 60] [--rounds 2] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import torch

import zoo
from zoo.engine.settings import build_config
from zoo.jobs.train import make_recipe, resolve

RATE = 16_000


def write_audio(path: Path, seconds: float) -> Path:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * RATE)) / RATE
    wave = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 1330 * t) + 0.05 * rng.standard_normal(t.size)
    soundfile.write(path, wave.astype(np.float32), RATE)
    return path


@torch.no_grad()
def plain(model: torch.nn.Module, path: Path) -> list[int]:
    samples, _ = soundfile.read(path, dtype="float32")
    wave = torch.from_numpy(samples)
    wave = (wave - wave.mean()) / torch.sqrt(wave.var(correction=0) + 1e-7)
    return model(wave[None])[0][0].argmax(-1).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the audio file")
    parser.add_argument("--rounds", type=int, default=2, help="timed runs of each (after one warm-up)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    mspec, rspec, dspec = resolve("wav2vec2_base")
    recipe = make_recipe(rspec, mspec, dspec, build_config(rspec.defaults("cpu"), {}, {}), None)
    torch.manual_seed(0)
    model = zoo.create_model("wav2vec2_base").eval()
    run_config = {"labels": None, "preprocessing": {"sample_rate": RATE, "normalize": True}}
    with tempfile.TemporaryDirectory() as tmp:
        path = write_audio(Path(tmp) / "speech.wav", args.seconds)
        ways = {
            "zoo": lambda: recipe.predict(model, [str(path)], 1, run_config),
            "plain": lambda: plain(model, path),
        }
        for way in ways.values():  # warm-up
            way()
        best = {}
        for _ in range(args.rounds):
            for name, way in ways.items():  # alternate, so drift hits both alike
                start = time.perf_counter()
                way()
                best[name] = min(best.get(name, float("inf")), time.perf_counter() - start)
    rates = {name: args.seconds / seconds for name, seconds in best.items()}
    print(
        json.dumps(
            {
                "audio_seconds": args.seconds,
                "threads": torch.get_num_threads(),
                "zoo_audio_s_per_s": round(rates["zoo"], 2),
                "plain_audio_s_per_s": round(rates["plain"], 2),
                "ratio_zoo_over_plain": round(rates["zoo"] / rates["plain"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
