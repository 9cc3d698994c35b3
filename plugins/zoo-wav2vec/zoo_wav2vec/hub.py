"""Speech recognition from a Hub dataset repo: an Audio column (`{bytes, path}`: WAV, FLAC or OGG bytes) and a
transcript column, read lazily from the verified parquet files through the speech-manifest adapter's pipeline (the
same waveforms, vocabulary, transcript normalisation, `lengths` and collate as for the same clips on disk).

Lengths: the engine batches speech by length, so every clip's header is read once before training
(`soundfile.info` on its bytes, one row group at a time; no samples are decoded). That pass also refuses, in one
line naming the file, row group and row, a clip whose bytes do not decode (exit 1) and a null transcript (exit 2).
Samples are decoded by soundfile when the loader asks for a clip (`SpeechRows`, over `ParquetRows`).

Sample rate: audio at another rate than the model's 16 kHz is resampled as it loads
(torchaudio.functional.resample, as the local adapters do), with one warning naming the rates found.

Validation: the card's validation split, else its test split; a repo with neither holds out a seeded `val_fraction`
of the training rows, as the speech-manifest adapter holds out files.
"""

from __future__ import annotations

import io
import random
from functools import partial
from typing import Any

import torch
from torch.utils.data import Dataset

from zoo.plugin import Data, HubSource, ParquetRows, UsageError, ZooError, warn
from zoo_wav2vec import audio
from zoo_wav2vec.data import collate, speech_info
from zoo_wav2vec.vocab import DEFAULT, Vocabulary

AUDIO_NAMES = ("audio", "speech")
TEXT_NAMES = ("text", "sentence", "transcript", "transcription", "normalized_text", "raw_text")
STRING = ("string", "large_string")


class SpeechRows(Dataset):
    """Some rows of a split (`indices`), each decoded on demand as (waveform, token ids); `lengths` in samples at
    16 kHz, read from the headers, for the engine's length-bucketed batches."""

    def __init__(self, rows: ParquetRows, indices: list[int], lengths: list[int]) -> None:
        self.rows, self.indices, self.lengths = rows, indices, lengths

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.rows[self.indices[i]]


def speech(
    source: HubSource,
    vocab: Vocabulary = DEFAULT,
    normalize: bool = True,
    val_fraction: float = 0.1,
    seed: int = 0,
    max_seconds: float = 0.0,
    **_: Any,
) -> Data:
    """A Hub speech repo as the speech-manifest adapter's Data: `hub="zoo_wav2vec.hub:speech"`."""
    sound = source.column("audio", ("audio",), AUDIO_NAMES)
    text = source.column("transcript", ("value",), TEXT_NAMES, dtypes=STRING)
    decode = partial(decode_row, sound, text, vocab, normalize)
    val_name = source.validation_split
    rates: set[int] = set()

    def split(name: str) -> tuple[ParquetRows, list[float]]:
        rows = ParquetRows(source.splits[name], [sound, text], decode, source.name_of)
        return rows, _seconds(source, name, sound, text, rates)

    train_rows, train_seconds = split("train")
    if val_name:
        val_rows, val_seconds = split(val_name)
        train, val = list(range(len(train_rows))), list(range(len(val_rows)))
    else:
        val_rows, val_seconds = train_rows, train_seconds
        train, val = _hold_out(len(train_rows), val_fraction, seed)
    if rates - {audio.SAMPLE_RATE}:
        found = ", ".join(str(r) for r in sorted(rates - {audio.SAMPLE_RATE}))
        warn(f"{source.uri}: audio at {found} Hz is resampled to the model's {audio.SAMPLE_RATE} Hz as it loads")
    warnings = []
    if max_seconds:
        kept = [i for i in train if train_seconds[i] <= max_seconds]
        if len(kept) < len(train):
            warnings.append(f"skipped {len(train) - len(kept)} training utterance(s) longer than {max_seconds} s")
        if not kept:
            raise UsageError(f"every training utterance is longer than max_seconds={max_seconds}: raise it")
        train = kept

    def rows(parquet: ParquetRows, indices: list[int], seconds: list[float]) -> SpeechRows:
        return SpeechRows(parquet, indices, [round(seconds[i] * audio.SAMPLE_RATE) for i in indices])

    info = speech_info(vocab, normalize, "speech-manifest", sum(train_seconds[i] for i in train), warnings)
    info.update(source=source.uri, validation=val_name or f"{val_fraction:.0%} of the train rows, held out")
    return Data(
        train=rows(train_rows, train, train_seconds), val=rows(val_rows, val, val_seconds), collate=collate, info=info
    )


def decode_row(
    sound: str, text: str, vocab: Vocabulary, normalize: bool, row: dict[str, Any]
) -> tuple[torch.Tensor, torch.Tensor]:
    """One row as the speech-manifest adapter's sample: the mono 16 kHz waveform and the transcript's token ids."""
    samples, rate = read_bytes(_audio_bytes(row[sound]))
    if row[text] is None:
        raise UsageError(f"no {text} (null): every clip needs a transcript")
    wave = audio.to_model_input(samples, rate, normalize)
    return wave, torch.tensor(vocab.encode(row[text]), dtype=torch.long)


def read_bytes(data: bytes) -> tuple[torch.Tensor, int]:
    """An audio file's bytes as float32 [channel, time] and its sample rate, read as zoo_wav2vec.audio.read does."""
    import soundfile

    try:
        samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise ZooError(f"the audio does not decode (WAV, FLAC or OGG expected): {_reason(exc)}") from None
    if samples.shape[0] == 0:
        raise ZooError("the audio holds no samples")
    return torch.from_numpy(samples.T.copy()), int(rate)


def _audio_bytes(cell: Any) -> bytes:
    data = cell.get("bytes") if isinstance(cell, dict) else None
    if not data:
        raise ZooError("the audio cell holds no bytes (audio stored by path is not in the repo): re-save the set")
    return data


def _reason(exc: BaseException) -> str:
    return getattr(exc, "error_string", None) or (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _seconds(source: HubSource, split: str, sound: str, text: str, rates: set[int]) -> list[float]:
    """Seconds of every clip of a split, from its header; checks each transcript is there and each clip decodes."""
    import pyarrow.parquet as pq

    out: list[float] = []
    for path in source.splits[split]:
        name = source.name_of(path)
        try:
            file = pq.ParquetFile(path)
            groups = range(file.num_row_groups)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise ZooError(f"{name} is not a readable parquet file ({_reason(exc)}): pull the dataset again") from None
        for g in groups:
            table = _row_group(file, g, [sound, text], name)
            for r, (cell, transcript) in enumerate(zip(table[sound], table[text], strict=True)):
                where = f"{name}, row group {g}, row {r}"
                if transcript is None:
                    raise UsageError(f"{where}: no {text} (null): every clip needs a transcript; fix the data")
                out.append(_header_seconds(cell, where, rates))
    return out


def _row_group(file: Any, g: int, columns: list[str], name: str) -> dict[str, list[Any]]:
    try:
        table = file.read_row_group(g, columns=columns)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise ZooError(f"{name}: cannot read row group {g}: {_reason(exc)}. Pull the dataset again.") from None
    return {c: table.column(c).to_pylist() for c in columns}


def _header_seconds(cell: Any, where: str, rates: set[int]) -> float:
    import soundfile

    try:
        info = soundfile.info(io.BytesIO(_audio_bytes(cell)))
    except ZooError as exc:
        raise ZooError(f"{where}: {exc}") from None
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise ZooError(f"{where}: the audio does not decode (WAV, FLAC or OGG expected): {_reason(exc)}") from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise ZooError(f"{where}: the audio holds no samples")
    rates.add(int(info.samplerate))
    return info.frames / info.samplerate


def _hold_out(rows: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """About `fraction` of the rows, seeded, for validation (the speech-manifest adapter's rule, by row)."""
    if not 0 < fraction < 1:
        raise UsageError(f"val_fraction must be between 0 and 1, got {fraction}")
    if rows < 2:  # a single utterance: validate on it
        return list(range(rows)), list(range(rows))
    order = list(range(rows))
    random.Random(seed).shuffle(order)
    held = set(order[: max(1, round(rows * fraction))])
    return [i for i in range(rows) if i not in held], sorted(held)
