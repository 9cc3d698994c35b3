"""Greedy CTC transcription, chunked for long audio so memory stays bounded whatever the file's length."""

from __future__ import annotations

from typing import Any

import torch

from zoo.plugin import ZooError, device_of, first_output
from zoo_wav2vec.audio import normalized
from zoo_wav2vec.vocab import Vocabulary

MIN_SECONDS = 0.05  # shorter than the feature encoder's 25 ms receptive field (and a frame more) yields nothing


@torch.no_grad()
def frame_logits(
    model: Any,
    wave: torch.Tensor,
    sample_rate: int,
    chunk_seconds: float = 30.0,
    overlap_seconds: float = 5.0,
    normalize: bool = True,
) -> torch.Tensor:
    """CTC logits [frames, vocab] of a mono [time] waveform.

    Audio longer than `chunk_seconds` goes through the model in chunks, each with `overlap_seconds` of context on
    both sides; only each chunk's own frames are kept (as transformers' pipeline does with its strides). Each
    window the model sees is normalised on its own, like the utterances the weights were trained on.
    """
    if chunk_seconds <= 0 or overlap_seconds < 0:
        raise ValueError("chunk_seconds must be positive and overlap_seconds non-negative")
    if wave.shape[-1] < MIN_SECONDS * sample_rate:
        raise ZooError(f"{wave.shape[-1] / sample_rate * 1000:.0f} ms of audio is too short to transcribe")
    device = device_of(model)
    chunk, overlap, total = int(chunk_seconds * sample_rate), int(overlap_seconds * sample_rate), wave.shape[-1]

    def run(window: torch.Tensor) -> torch.Tensor:
        window = normalized(window) if normalize else window
        return first_output(model(window[None].to(device)))[0].float().cpu()

    if total <= chunk + overlap:
        return run(wave)
    starts = list(range(0, total, chunk))
    if total - starts[-1] < chunk // 4:  # a short tail joins the chunk before it rather than stand alone
        starts.pop()
    parts = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else total
        left, right = max(0, start - overlap), min(total, end + overlap)
        logits = run(wave[left:right])
        per_sample = logits.shape[0] / (right - left)
        first = round((start - left) * per_sample)
        last = logits.shape[0] - round((right - end) * per_sample)
        parts.append(logits[first:last])
    return torch.cat(parts)


def greedy(logits: torch.Tensor, vocab: Vocabulary) -> str:
    """The best path: argmax per frame, then CTC merging."""
    return vocab.decode(logits.argmax(-1).tolist())


def batch_greedy(logits: torch.Tensor, lengths: torch.Tensor, vocab: Vocabulary) -> list[str]:
    """Greedy transcripts of a padded batch [batch, frames, vocab] with valid frame counts."""
    best = logits.argmax(-1).cpu()
    return [vocab.decode(best[i, : int(n)].tolist()) for i, n in enumerate(lengths.cpu())]
