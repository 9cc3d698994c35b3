"""A few utterances in each adapter's real format, for zoo's conformance suite (zoo.testing): no download.

The audio is tones, not speech: enough for a forward pass, a training step and a transcript of some kind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zoo.plugin import Sample

TEXTS = ["open the pod bay doors", "hello world", "the cat sat on the mat", "good morning"]


def _tone(path: Path, seed: int, seconds: float = 1.0, rate: int = 16000) -> Path:
    import soundfile

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * (200 + 50 * seed) * t) + 0.02 * rng.standard_normal(t.size)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, wave.astype(np.float32), rate)
    return path


def librispeech(folder: Path) -> Sample:
    """<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac with <speaker>-<chapter>.trans.txt, two speakers."""
    for speaker in (19, 26):
        chapter = folder / str(speaker) / "198"
        lines = []
        for n, text in enumerate(TEXTS):
            utt = f"{speaker}-198-{n:04d}"
            _tone(chapter / f"{utt}.flac", speaker + n)
            lines.append(f"{utt} {text.upper()}")
        (chapter / f"{speaker}-198.trans.txt").write_text("\n".join(lines) + "\n")
    return Sample(data_dir=folder, inputs=[str(_tone(folder / "input.wav", 7))])


def speech_manifest(folder: Path) -> Sample:
    """train.tsv and dev.tsv of `path<TAB>transcript`, paths relative to the manifests."""
    for name, texts in (("train", TEXTS), ("dev", TEXTS[:2])):
        rows = [f"clips/{name}-{n}.wav\t{text}" for n, text in enumerate(texts)]
        for n in range(len(texts)):
            _tone(folder / "clips" / f"{name}-{n}.wav", n)
        (folder / f"{name}.tsv").write_text("path\ttranscript\n" + "\n".join(rows) + "\n")
    return Sample(data_dir=folder, inputs=[str(_tone(folder / "input.wav", 9))])
