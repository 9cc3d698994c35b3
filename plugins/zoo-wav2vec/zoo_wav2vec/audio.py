"""Audio files as the models take them: soundfile reads WAV, FLAC or OGG into [channel, time] float32; then mono,
16 kHz (torchaudio.functional.resample) and, when the weights ask for it, zero mean and unit variance."""

from __future__ import annotations

from pathlib import Path

import torch

from zoo.plugin import ZooError

SAMPLE_RATE = 16_000


def read(path: str | Path) -> tuple[torch.Tensor, int]:
    """The file's samples as float32 [channel, time] and its sample rate; a file that won't decode is an error."""
    import soundfile

    path = Path(path)
    if not path.is_file():
        raise ZooError(f"no audio file at {path}")
    if path.stat().st_size == 0:
        raise ZooError(f"the audio file {path} is empty (0 bytes)")
    try:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise ZooError(f"cannot read the audio file {path} (WAV, FLAC or OGG expected): {exc}") from None
    if samples.shape[0] == 0:
        raise ZooError(f"the audio file {path} holds no samples")
    return torch.from_numpy(samples.T.copy()), int(rate)


def to_model_input(samples: torch.Tensor, rate: int, normalize: bool, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """[channel, time] at `rate` -> mono [time] at `sample_rate`, normalised per utterance if asked."""
    import torchaudio

    mono = samples.mean(0) if samples.dim() == 2 else samples
    if rate != sample_rate:
        mono = torchaudio.functional.resample(mono, rate, sample_rate)
    return normalized(mono) if normalize else mono


def normalized(wave: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit variance (transformers' do_normalize: population variance, eps 1e-7)."""
    return (wave - wave.mean()) / torch.sqrt(wave.var(correction=0) + 1e-7)


def load(path: str | Path, normalize: bool = True, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """An audio file as a mono [time] float32 tensor at `sample_rate`."""
    samples, rate = read(path)
    return to_model_input(samples, rate, normalize, sample_rate)


def duration(path: str | Path) -> float:
    """Seconds of audio, from the header alone (for length bucketing)."""
    import soundfile

    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError) as exc:
        raise ZooError(f"cannot read the audio file {path} (WAV, FLAC or OGG expected): {exc}") from None
    return info.frames / info.samplerate
