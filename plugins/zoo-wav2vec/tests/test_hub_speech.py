"""speech-manifest's Hub source (zoo_wav2vec.hub): a dataset repo of parquet files with an Audio and a transcript
column, pulled for real from a local hub folder; checked against `datasets` (the independent reference) and against
the local adapter on the same clips; trained on by the real CLI; each bad input is one line."""

import io
import json

import numpy as np
import pytest
import soundfile
import torch
import yaml
from zoo_fixtures import assert_clean_error
from zoo_wav2vec.vocab import DEFAULT

from zoo.core.errors import UsageError, ZooError, ZooWarning

TEXTS = ["Hello, world!", "the cat sat on the mat", "Café au lait - twice", "speech recognition is fun", "a b c"]
OPTIONS = {"vocab": DEFAULT, "val_fraction": 0.1, "seed": 0, "max_seconds": 30.0}


def clip(seconds: float, rate: int, seed: int) -> np.ndarray:
    """A speech-like signal: a chirp under noise, float32 in [-0.5, 0.5]."""
    t = np.arange(round(seconds * rate)) / rate
    noise = np.random.default_rng(seed).normal(0, 0.05, t.size)
    return (0.4 * np.sin(2 * np.pi * (200 + 300 * t) * t) + noise).clip(-0.5, 0.5).astype(np.float32)


def encoded(samples: np.ndarray, rate: int, fmt: str = "WAV") -> bytes:
    out = io.BytesIO()
    soundfile.write(out, samples, rate, format=fmt, subtype="PCM_16")
    return out.getvalue()


def clips(count: int, rate: int = 16_000, fmt: str = "WAV") -> list[tuple[bytes, str | None]]:
    return [(encoded(clip(0.2 + 0.1 * i, rate, i), rate, fmt), TEXTS[i % len(TEXTS)]) for i in range(count)]


def parquet(columns: dict, features, rows_per_group: int) -> bytes:
    """A parquet file as `datasets.Dataset.to_parquet` writes it (its `huggingface` schema metadata included); the
    table is built from the features' arrow schema, as datasets encodes audio only through torchcodec."""
    import pyarrow as pa
    from datasets import Dataset, DatasetInfo
    from datasets.table import InMemoryTable

    table = InMemoryTable(pa.table(columns, schema=features.arrow_schema))
    out = io.BytesIO()
    Dataset(table, info=DatasetInfo(features=features)).to_parquet(out, batch_size=rows_per_group)
    return out.getvalue()


def speech_repo(
    root, repo_id, splits, audio="audio", text="text", text_dtype="string", rows_per_group=2, damage=None
) -> str:
    """A repo laid out as openslr/librispeech_asr is: data/{split}-*.parquet with an Audio and a transcript column,
    and a card naming the splits and features; `damage(files)` edits the files before they are committed."""
    from datasets import Audio, Features, Value

    from zoo.hub.local_git import LocalHub

    features = Features({audio: Audio(sampling_rate=16_000), text: Value(text_dtype)})
    files = {}
    for split, rows in splits.items():
        cells = [{"bytes": data, "path": f"{split}-{i}.wav"} for i, (data, _) in enumerate(rows)]
        files[f"data/{split}-00000-of-00001.parquet"] = parquet(
            {audio: cells, text: [t if text_dtype == "string" else i for i, (_, t) in enumerate(rows)]},
            features,
            rows_per_group,
        )
    meta = {
        "configs": [{"config_name": "default", "data_files": [{"split": s, "path": f"data/{s}-*"} for s in splits]}],
        "dataset_info": {"features": features._to_yaml_list(), "splits": [{"name": s} for s in splits]},
    }
    files["README.md"] = f"---\n{yaml.safe_dump(meta, sort_keys=False)}---\n# speech\n".encode()
    if damage is not None:
        damage(files)
    hub = LocalHub(root, "datasets")
    hub.create_repo(repo_id)
    return hub.commit(repo_id, files, "speech")


def build(root, repo_id, **options):
    """The registered speech-manifest adapter's Data, through the real pull (zoo.hub.datasets)."""
    from zoo.hub.datasets import pull_dataset
    from zoo.jobs.train import resolve

    source = pull_dataset(repo_id, hub=root).source
    spec = resolve("wav2vec2_tiny", dataset="speech-manifest")[2]
    return spec.build(data_dir=source, **{**OPTIONS, **options})


def reference(files: list) -> list[tuple[np.ndarray, int, str]]:
    """What `datasets` reads from the parquet files: audio bytes (decoded here by soundfile) and transcripts."""
    import datasets

    ds = datasets.load_dataset("parquet", data_files={"x": [str(f) for f in files]}, split="x")
    ds = ds.cast_column("audio", datasets.Audio(decode=False))
    rows = []
    for row in ds:
        samples, rate = soundfile.read(io.BytesIO(row["audio"]["bytes"]), dtype="float32")
        rows.append((samples, rate, row["text"]))
    return rows


def test_samples_match_datasets_and_the_local_adapter(tmp_path):
    from zoo_wav2vec.data import speech_manifest

    from zoo.hub.datasets import pull_dataset

    root = tmp_path / "hub"
    splits = {"train": clips(5), "validation": clips(3, fmt="FLAC")}
    speech_repo(root, "org/ref", splits)
    data = build(root, "org/ref", normalize=False)
    source = pull_dataset("org/ref", hub=root).source

    for split, dataset in (("train", data.train), ("validation", data.val)):
        rows = reference(source.splits[split])
        assert len(dataset) == len(rows) == len(splits[split])
        for i, (samples, rate, text) in enumerate(rows):
            wave, targets = dataset[i]
            assert rate == 16_000 and torch.equal(wave, torch.from_numpy(samples))
            assert targets.tolist() == DEFAULT.encode(text)
            assert dataset.lengths[i] == len(samples)

    # The same clips as files and manifests: the local adapter yields the same samples, normalised this time.
    folder = tmp_path / "local"
    for split, name in (("train", "train.tsv"), ("validation", "dev.tsv")):
        lines = []
        for i, (data_bytes, text) in enumerate(splits[split]):
            (folder / f"{split}-{i}.wav").parent.mkdir(exist_ok=True)
            (folder / f"{split}-{i}.wav").write_bytes(data_bytes)
            lines.append(f"{split}-{i}.wav\t{text}")
        (folder / name).write_text("\n".join(lines) + "\n")
    local, hub = speech_manifest(folder, **OPTIONS), build(root, "org/ref")
    for ours, theirs in ((hub.train, local.train), (hub.val, local.val)):
        assert ours.lengths == theirs.lengths
        for i in range(len(theirs)):
            assert all(torch.equal(a, b) for a, b in zip(ours[i], theirs[i], strict=True))
    batch, expected = hub.collate([hub.train[i] for i in (0, 3)]), local.collate([local.train[i] for i in (0, 3)])
    assert all(torch.equal(batch[k], expected[k]) for k in expected)
    for key in ("labels", "vocabulary", "preprocessing", "train_seconds", "name"):
        assert hub.info[key] == local.info[key], key
    assert hub.info["hub_dataset"]["revision"] == source.revision


def test_without_validation_split_rows_are_held_out_and_long_clips_skipped(tmp_path):
    root = tmp_path / "hub"
    speech_repo(root, "org/one", {"train": clips(10)})
    data = build(root, "org/one", max_seconds=1.0)  # clips are 0.2 .. 1.1 s: the last is skipped
    held = set(data.val.indices)
    assert len(held) == 1 and held.isdisjoint(data.train.indices)
    assert sorted(held | set(data.train.indices) | {9}) == list(range(10))
    assert data.info["warnings"] == ["skipped 1 training utterance(s) longer than 1.0 s"]
    assert data.info["validation"] == "10% of the train rows, held out"


def test_other_sample_rates_are_resampled_with_one_warning(tmp_path):
    import torchaudio

    root = tmp_path / "hub"
    rows = clips(3, rate=22_050)
    speech_repo(root, "org/rate", {"train": rows, "test": clips(2, rate=8_000)})
    with pytest.warns(ZooWarning) as caught:
        data = build(root, "org/rate", normalize=False)
    assert [str(w.message) for w in caught] == [
        f"hf://datasets/org/rate@{data.info['hub_dataset']['revision']}: audio at 8000, 22050 Hz is resampled to "
        "the model's 16000 Hz as it loads"
    ]
    samples, rate = soundfile.read(io.BytesIO(rows[1][0]), dtype="float32")
    expected = torchaudio.functional.resample(torch.from_numpy(samples), rate, 16_000)
    assert torch.equal(data.train[1][0], expected)
    assert data.train.lengths[1] == round(len(samples) / rate * 16_000) == pytest.approx(len(expected), abs=1)
    assert len(data.val) == 2  # the test split validates when there is no validation split


def test_cli_trains_on_a_hub_speech_repo(run_zoo, tmp_path):
    root = tmp_path / "hub"
    revision = speech_repo(root, "org/speech", {"train": clips(4), "validation": clips(2, rate=22_050, fmt="FLAC")})
    out = tmp_path / "run"
    proc = run_zoo(
        "train", "wav2vec2_tiny", "--dataset", "speech-manifest", "--data-dir", "hf://datasets/org/speech",
        "--hub", str(root), "--epochs", "1", "--batch-size", "2", "--set", "pretrained=false", "--device", "cpu",
        "--out", str(out), "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("warning: ") == proc.stderr.count("22050 Hz is resampled") == 1, proc.stderr
    config = json.loads((out / "config.json").read_text())
    assert config["hub_dataset"]["repo_id"] == "org/speech" and config["hub_dataset"]["revision"] == revision
    history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(history) == 1 and history[0]["steps"] == 2 and history[0]["wer"] >= 0


def _truncate(files: dict) -> None:
    name = "data/train-00000-of-00001.parquet"
    files[name] = files[name][: len(files[name]) // 2]


BAD = {
    "undecodable": (
        {"train": [*clips(2), (b"RIFF not really a wav", "hello")]},
        {},
        1,
        ["data/train-00000-of-00001.parquet, row group 1, row 0: the audio does not decode", "Format not recognised"],
    ),
    "null-transcript": (
        {"train": [*clips(3), (clips(1)[0][0], None)]},
        {},
        2,
        ["data/train-00000-of-00001.parquet, row group 1, row 1: no text (null): every clip needs a transcript"],
    ),
    "unmapped-columns": (
        {"train": clips(2)},
        {"text": "speaker", "text_dtype": "int64"},
        2,
        ["no column to read as the transcript", "audio (Audio), speaker (int64)"],
    ),
    "truncated": (
        {"train": clips(2)},
        {"damage": _truncate},
        1,
        ["data/train-00000-of-00001.parquet is not a readable parquet file", "truncated or damaged"],
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_data_is_one_line_naming_the_file(case, tmp_path):
    """In-process (a `zoo` start costs seconds): UsageError is the CLI's exit 2, any other ZooError its exit 1."""
    splits, options, code, words = BAD[case]
    speech_repo(tmp_path / "hub", "org/bad", splits, **options)
    with pytest.raises(ZooError) as caught:
        build(tmp_path / "hub", "org/bad")
    assert (2 if isinstance(caught.value, UsageError) else 1) == code
    assert "\n" not in str(caught.value) and all(w in str(caught.value) for w in words), str(caught.value)


def test_cli_bad_audio_is_one_line_and_no_run(run_zoo, tmp_path):
    splits, options, code, words = BAD["undecodable"]
    speech_repo(tmp_path / "hub", "org/bad", splits, **options)
    proc = run_zoo(
        "train", "wav2vec2_tiny", "--dataset", "speech-manifest", "--data-dir", "hf://datasets/org/bad",
        "--hub", str(tmp_path / "hub"), "--epochs", "1", "--set", "pretrained=false", "--device", "cpu",
        "--out", str(tmp_path / "run"),
    )  # fmt: skip
    stderr = assert_clean_error(proc, code, *words)
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert not (tmp_path / "run").exists()


def test_through_the_hub_server_waveforms_and_transcripts_are_what_datasets_reads(hub_root, hub_server, tmp_path):
    """Over HTTP, as the Hub serves it (LFS parquet, the card's configs): each sample is the clip datasets.load_dataset
    yields (Audio(decode=False), decoded here with soundfile) and its transcript's encoding."""
    import hub_datasets

    from zoo.hub.datasets import pull_dataset
    from zoo.registry.merged import get_registry

    texts = ["OPEN THE DOOR", "A CAT", "HELLO WORLD", "ZOO"]
    clips = [(clip(0.2 + 0.1 * k, 16_000, k), 16_000, text) for k, text in enumerate(texts)]
    commit = hub_datasets.speech_repo(hub_root, "ds-speech/served", clips)
    source = pull_dataset("ds-speech/served", "main", hub_server.url).source
    assert source.revision == commit
    theirs = hub_datasets.reference_rows(hub_server.url, "ds-speech/served", commit, "train", tmp_path)
    data = get_registry().datasets.get("speech-manifest").build(data_dir=source, normalize=False, **OPTIONS)
    seen = []
    for dataset in (data.train, data.val):
        for j, row in enumerate(dataset.indices):
            samples, rate = soundfile.read(io.BytesIO(theirs[row]["audio"]), dtype="float32")
            wave, targets = dataset[j]
            assert rate == 16_000 and torch.equal(wave, torch.from_numpy(samples))
            assert targets.tolist() == DEFAULT.encode(theirs[row]["text"])
            seen.append(row)
    assert sorted(seen) == [0, 1, 2, 3]
