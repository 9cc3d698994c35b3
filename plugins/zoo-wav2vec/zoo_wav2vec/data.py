"""Speech datasets: LibriSpeech folders and TSV manifests, as (waveform, token ids) samples with their lengths."""

from __future__ import annotations

import csv
import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from zoo.plugin import Data, UsageError, ZooError
from zoo_wav2vec import audio
from zoo_wav2vec.durations import durations
from zoo_wav2vec.vocab import DEFAULT, Vocabulary


@dataclass(frozen=True)
class Utterance:
    path: Path
    text: str
    seconds: float


class SpeechDataset(Dataset):
    """Decodes each file when asked: mono, resampled, normalised; targets are the vocabulary's ids."""

    def __init__(
        self, utterances: list[Utterance], vocab: Vocabulary, normalize: bool, sample_rate: int = audio.SAMPLE_RATE
    ) -> None:
        self.utterances, self.vocab, self.normalize, self.sample_rate = utterances, vocab, normalize, sample_rate
        #: samples per utterance at `sample_rate`, read from the headers: the engine batches by length
        self.lengths = [round(u.seconds * sample_rate) for u in utterances]

    def __len__(self) -> int:
        return len(self.utterances)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        u = self.utterances[i]
        wave = audio.load(u.path, self.normalize, self.sample_rate)
        return wave, torch.tensor(self.vocab.encode(u.text), dtype=torch.long)


def collate(batch: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Zero-padded waveforms and targets, with the true lengths of each (the padding masks)."""
    waves, targets = zip(*batch, strict=True)
    return {
        "waves": torch.nn.utils.rnn.pad_sequence(list(waves), batch_first=True),
        "lengths": torch.tensor([len(w) for w in waves]),
        "targets": torch.nn.utils.rnn.pad_sequence(list(targets), batch_first=True),
        "target_lengths": torch.tensor([len(t) for t in targets]),
    }


def _utterances(pairs: list[tuple[Path, str]], root: Path) -> list[Utterance]:
    """(audio path, transcript) pairs with their durations, cached per dataset folder (zoo_wav2vec.durations)."""
    seconds = durations([path for path, _ in pairs], root)
    return [Utterance(path, text, s) for (path, text), s in zip(pairs, seconds, strict=True)]


def _check_dir(data_dir: Path | None, name: str, hint: str) -> Path:
    if data_dir is None:
        raise UsageError(f"{name} needs --data-dir: {hint}")
    path = Path(data_dir)
    if not path.exists():
        raise UsageError(f"--data-dir {path} does not exist: {hint}")
    return path


# LibriSpeech -----------------------------------------------------------------------------------------------------

LIBRISPEECH_HINT = (
    "the LibriSpeech folder (with train-clean-100/, dev-clean/, ...) or one split of it "
    "(<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac with <speaker>-<chapter>.trans.txt)"
)


def _is_file(path: Path) -> bool:
    """Path.is_file, False also for a name no file can have (a NUL byte, a name too long) from a damaged file."""
    try:
        return path.is_file()
    except (ValueError, OSError):
        return False


def read_librispeech(split: Path) -> list[Utterance]:
    """Every utterance of a split: each chapter's *.trans.txt lines `<utt-id> TRANSCRIPT`, audio `<utt-id>.flac`."""
    out: list[tuple[Path, str]] = []
    for transcript in sorted(p for p in split.rglob("*.trans.txt") if p.is_file()):
        try:
            lines = transcript.read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the transcript {transcript}: {exc}") from None
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            utt, _, text = line.strip().partition(" ")
            path = transcript.parent / f"{utt}.flac"
            if not _is_file(path):
                raise ZooError(f"{transcript}:{n}: names {utt}, but {path.name} is not in {transcript.parent}")
            out.append((path, text))
    if not out:
        raise UsageError(f"no LibriSpeech transcripts (*.trans.txt) under {split}: expected {LIBRISPEECH_HINT}")
    return _utterances(out, split)


def librispeech(
    data_dir: Path | None = None,
    vocab: Vocabulary = DEFAULT,
    normalize: bool = True,
    train_split: str = "train-clean-100",
    val_split: str = "dev-clean",
    val_fraction: float = 0.1,
    seed: int = 0,
    max_seconds: float = 0.0,
    **_: Any,
) -> Data:
    """LibriSpeech: named train and validation splits of the LibriSpeech folder, or one split held out by speaker."""
    root = _check_dir(data_dir, "librispeech", LIBRISPEECH_HINT)
    if (root / train_split).is_dir():
        train = read_librispeech(root / train_split)
        val = read_librispeech(root / val_split) if (root / val_split).is_dir() else None
    else:
        train, val = read_librispeech(root), None
    if val is None:
        train, val = _hold_out(train, val_fraction, seed, key=_speaker)
    return speech_data(train, val, vocab, normalize, max_seconds, name="librispeech")


# TSV manifests -------------------------------------------------------------------------------------------------

MANIFEST_HINT = (
    "a TSV file of `path<TAB>transcript` lines (paths relative to the file), or a folder with train.tsv "
    "and dev.tsv (or valid.tsv)"
)
VAL_NAMES = ("dev.tsv", "valid.tsv", "val.tsv", "test.tsv")


def read_manifest(path: Path) -> list[Utterance]:
    """`path<TAB>transcript` per line; an optional header line `path<TAB>transcript` (or text/sentence)."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:  # not UTF-8, a folder, a field over csv's limit
        raise UsageError(f"cannot read the manifest {path}: {exc}") from None
    out: list[tuple[Path, str]] = []
    for n, row in enumerate(rows, 1):
        if not row or not "".join(row).strip():
            continue
        if n == 1 and row[0].strip().lower() in ("path", "file", "audio"):
            continue
        if len(row) != 2:
            raise UsageError(f"{path}:{n}: expected `path<TAB>transcript`, got {len(row)} field(s)")
        audio_path = path.parent / row[0].strip()
        if not _is_file(audio_path):
            raise UsageError(f"{path}:{n}: no audio file {row[0].strip()} (paths are relative to {path.parent})")
        out.append((audio_path.resolve(), row[1]))
    if not out:
        raise UsageError(f"{path} lists no utterances: expected {MANIFEST_HINT}")
    return _utterances(out, path.parent)


def speech_manifest(
    data_dir: Path | None = None,
    vocab: Vocabulary = DEFAULT,
    normalize: bool = True,
    val_fraction: float = 0.1,
    seed: int = 0,
    max_seconds: float = 0.0,
    **_: Any,
) -> Data:
    """A manifest file (validation held out), or a folder with train.tsv and a dev/valid/val/test.tsv."""
    root = _check_dir(data_dir, "speech-manifest", MANIFEST_HINT)
    if root.is_file():
        train, val = read_manifest(root), None
    else:
        if not (root / "train.tsv").is_file():
            raise UsageError(f"{root} has no train.tsv: expected {MANIFEST_HINT}")
        train = read_manifest(root / "train.tsv")
        val_file = next((root / n for n in VAL_NAMES if (root / n).is_file()), None)
        val = read_manifest(val_file) if val_file is not None else None
    if val is None:
        train, val = _hold_out(train, val_fraction, seed, key=_file)
    return speech_data(train, val, vocab, normalize, max_seconds, name="speech-manifest")


# Shared ----------------------------------------------------------------------------------------------------------


def _speaker(u: Utterance) -> str:
    return u.path.name.split("-")[0]  # LibriSpeech names files <speaker>-<chapter>-<utt>.flac


def _file(u: Utterance) -> str:
    return str(u.path)


def _hold_out(
    utterances: list[Utterance], fraction: float, seed: int, key: Callable[[Utterance], str]
) -> tuple[list[Utterance], list[Utterance]]:
    """Split off about `fraction` of the groups (speakers, or files) for validation, seeded."""
    if not 0 < fraction < 1:
        raise UsageError(f"val_fraction must be between 0 and 1, got {fraction}")
    groups = sorted({key(u) for u in utterances})
    if len(groups) < 2:  # one speaker: hold out utterances instead
        key = _file
        groups = sorted({key(u) for u in utterances})
    if len(groups) < 2:  # a single utterance: validate on it
        return utterances, utterances
    random.Random(seed).shuffle(groups)
    held = set(groups[: max(1, round(len(groups) * fraction))])
    return [u for u in utterances if key(u) not in held], [u for u in utterances if key(u) in held]


def speech_data(
    train: list[Utterance],
    val: list[Utterance] | None,
    vocab: Vocabulary,
    normalize: bool,
    max_seconds: float,
    name: str,
) -> Data:
    """Data for the recipe: datasets with lengths, the collate function, labels, preprocessing and fingerprint."""
    warnings = []
    if max_seconds:
        kept = [u for u in train if u.seconds <= max_seconds]
        if len(kept) < len(train):
            warnings.append(f"skipped {len(train) - len(kept)} training utterance(s) longer than {max_seconds} s")
        if not kept:
            raise UsageError(f"every training utterance is longer than max_seconds={max_seconds}: raise it")
        train = kept
    digest = hashlib.sha256()
    for u in [*train, *(val or [])]:
        digest.update(f"{u.path.name}\t{u.text}\t{u.seconds:.4f}\n".encode())
    return Data(
        train=SpeechDataset(train, vocab, normalize),
        val=SpeechDataset(val, vocab, normalize) if val else None,
        collate=collate,
        info={
            **speech_info(vocab, normalize, name, sum(u.seconds for u in train), warnings),
            "fingerprint": "sha256:" + digest.hexdigest(),
        },
    )


def speech_info(vocab: Vocabulary, normalize: bool, name: str, train_seconds: float, warnings: list[str]) -> dict:
    """What a run records of a speech dataset: the vocabulary, the preprocessing, the training audio's length."""
    return {
        "name": name,
        "labels": list(vocab.tokens),
        "vocabulary": vocab.to_config(),
        "preprocessing": {"sample_rate": audio.SAMPLE_RATE, "normalize": normalize},
        "train_seconds": round(train_seconds, 2),
        "warnings": warnings,
    }
