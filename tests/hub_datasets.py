"""Dataset repos in the Hub's real formats, for tests: parquet files written by the `datasets` library itself (so
they carry its `huggingface` schema metadata), a card whose YAML names the configs, splits and features, and the
`refs/convert/parquet` branch of the Hub's auto-conversion. `reference_rows` is the independent reference: what
`datasets.load_dataset` yields from a Hub endpoint, row by row.

Each builder commits into `LocalHub(root, "datasets")` (ROOT/datasets/<org>/<name>), which tests/hubserver.py serves
under /datasets/<org>/<name>, and returns the commit id.
"""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import yaml

from zoo.hub.local_git import LocalHub

PARQUET_BRANCH = "refs/convert/parquet"


def card(configs: dict[str, dict[str, str]], features_yaml: list, splits: list[dict] | None = None) -> bytes:
    """A README.md whose YAML front matter is what the Hub writes: `configs` (config -> split -> file glob) and
    `dataset_info` (the features, as `datasets.Features._to_yaml_list()` gives them, and `splits`, each
    {name, num_bytes, num_examples} as `to_parquet` reports them; by default only the split names)."""
    infos = []
    for name, globs in configs.items():
        info = {"config_name": name, "features": features_yaml}
        info["splits"] = [{k: v for k, v in s.items() if k != "download_size"} for s in splits or []] or [
            {"name": split} for split in globs
        ]
        if splits and all("download_size" in s for s in splits):
            info["download_size"] = sum(s["download_size"] for s in splits)
        if splits:
            info["dataset_size"] = sum(s["num_bytes"] for s in splits)
        infos.append(info)
    meta = {
        "configs": [
            {"config_name": name, "data_files": [{"split": s, "path": glob} for s, glob in splits.items()]}
            for name, splits in configs.items()
        ],
        "dataset_info": infos[0] if len(infos) == 1 else infos,
    }
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
    return f"---\n{front}---\n\n# Test dataset\n\nBuilt by tests/hub_datasets.py.\n".encode()


def to_parquet(
    split: str, columns: dict[str, list], features: object, rows_per_group: int | None = None
) -> tuple[bytes, dict]:
    """The bytes of a parquet file written by `datasets.Dataset.to_parquet` (schema metadata included), each
    `rows_per_group` rows a row group, and the split's card entry {name, num_bytes, num_examples, download_size}.
    The table is built from the features' arrow schema, so no value is re-encoded (datasets encodes audio only
    through torchcodec)."""
    import pyarrow as pa
    from datasets import Dataset, DatasetInfo
    from datasets.table import InMemoryTable

    table = pa.table(columns, schema=features.arrow_schema)  # type: ignore[attr-defined]
    dataset = Dataset(InMemoryTable(table), info=DatasetInfo(features=features))
    out = io.BytesIO()
    dataset.to_parquet(out, batch_size=rows_per_group)
    info = {"name": split, "num_bytes": table.nbytes, "num_examples": table.num_rows, "download_size": out.tell()}
    return out.getvalue(), info


def commit(root: Path, repo_id: str, files: dict[str, bytes | Path], message: str) -> str:
    """Create the dataset repo if needed and commit `files` to main."""
    hub = LocalHub(root, "datasets")
    hub.create_repo(repo_id)
    return hub.commit(repo_id, files, message)


def png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format="PNG")
    return out.getvalue()


def image_data(
    splits: dict[str, int], size: int = 8, classes: tuple[str, ...] = ("cat", "dog", "frog"), seed: int = 0
) -> dict[str, tuple[np.ndarray, list[int]]]:
    """Each split's pixels (N, size, size, 3 uint8) and labels, the same for the same arguments."""
    rng = np.random.default_rng(seed)
    return {
        split: (rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8), rng.integers(0, len(classes), n).tolist())
        for split, n in splits.items()
    }


def image_repo(
    root: Path,
    repo_id: str,
    splits: dict[str, int] | None = None,
    size: int = 8,
    classes: tuple[str, ...] = ("cat", "dog", "frog"),
    image_column: str = "img",
    label_column: str = "label",
    rows_per_group: int | None = None,
    seed: int = 0,
) -> str:
    """An image classification repo laid out as CIFAR-10 is on the Hub: `plain_text/{split}-00000-of-00001.parquet`
    with PNGs in an Image feature and a ClassLabel; the pixels and labels are `image_data(splits, size, classes,
    seed)`."""
    from datasets import ClassLabel, Features, Image

    splits = splits or {"train": 40, "test": 10}
    features = Features({image_column: Image(), label_column: ClassLabel(names=list(classes))})
    files: dict[str, bytes | Path] = {}
    infos = []
    for split, (pixels, labels) in image_data(splits, size, classes, seed).items():
        columns = {image_column: [{"bytes": png(p), "path": None} for p in pixels], label_column: labels}
        files[f"plain_text/{split}-00000-of-00001.parquet"], info = to_parquet(split, columns, features, rows_per_group)
        infos.append(info)
    globs = {split: f"plain_text/{split}-*" for split in splits}
    files["README.md"] = card({"plain_text": globs}, features._to_yaml_list(), infos)
    return commit(root, repo_id, files, "image classification data")


def ratings_data(rows: int = 200, users: int = 20, items: int = 30, seed: int = 0) -> dict[str, list]:
    """User ids, item ids, ratings (1 to 5 in halves) and timestamps, the same for the same arguments."""
    rng = np.random.default_rng(seed)
    return {
        "user_id": rng.integers(0, users, rows).tolist(),
        "item_id": rng.integers(0, items, rows).tolist(),
        "rating": (rng.integers(2, 11, rows) / 2).tolist(),
        "timestamp": (1_600_000_000 + np.sort(rng.integers(0, 10**7, rows))).tolist(),
    }


def ratings_repo(
    root: Path,
    repo_id: str,
    rows: int = 200,
    users: int = 20,
    items: int = 30,
    columns: tuple[str, ...] = ("user_id", "item_id", "rating", "timestamp"),
    seed: int = 0,
) -> str:
    """A ratings table (`data/train-00000-of-00001.parquet`, config `default`) of `ratings_data(...)`; `columns`
    renames user, item, rating and timestamp (three names leave the timestamp out)."""
    from datasets import Features, Value

    data = ratings_data(rows, users, items, seed)
    kinds = {"user_id": "int64", "item_id": "int64", "rating": "float32", "timestamp": "int64"}
    roles = list(kinds)[: len(columns)]
    features = Features({name: Value(kinds[role]) for name, role in zip(columns, roles, strict=True)})
    table = {name: data[role] for name, role in zip(columns, roles, strict=True)}
    parquet, info = to_parquet("train", table, features)
    files: dict[str, bytes | Path] = {
        "data/train-00000-of-00001.parquet": parquet,
        "README.md": card({"default": {"train": "data/train-*"}}, features._to_yaml_list(), [info]),
    }
    return commit(root, repo_id, files, "ratings")


def wav(samples: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> bytes:
    import soundfile

    out = io.BytesIO()
    soundfile.write(out, samples, sample_rate, format="WAV", subtype=subtype)
    return out.getvalue()


def speech_repo(
    root: Path,
    repo_id: str,
    clips: list[tuple[np.ndarray, int, str]],
    audio_column: str = "audio",
    text_column: str = "text",
    split: str = "train",
    subtype: str = "PCM_16",
) -> str:
    """A speech repo (`data/{split}-00000-of-00001.parquet`): each (float32 mono samples, sample rate, transcript)
    clip as WAV bytes (soundfile, `subtype`) in an Audio feature, and its transcript."""
    from datasets import Audio, Features, Value

    features = Features({audio_column: Audio(), text_column: Value("string")})
    table = {
        audio_column: [{"bytes": wav(samples, rate, subtype), "path": None} for samples, rate, _ in clips],
        text_column: [text for _, _, text in clips],
    }
    parquet, info = to_parquet(split, table, features)
    files: dict[str, bytes | Path] = {
        f"data/{split}-00000-of-00001.parquet": parquet,
        "README.md": card({"default": {split: f"data/{split}-*"}}, features._to_yaml_list(), [info]),
    }
    return commit(root, repo_id, files, "speech")


def convert_parquet_repo(
    root: Path, repo_id: str, splits: dict[str, dict[str, list]] | None = None, config: str = "default"
) -> str:
    """A repo whose main holds only a README and CSV files (`{split}.csv`), and whose `refs/convert/parquet`
    holds what the Hub's auto-conversion writes, `<config>/<split>/0000.parquet` (read from those CSVs by
    `datasets`); returns the commit of `refs/convert/parquet`. `splits` defaults to train/test ratings."""
    from datasets import Dataset

    splits = splits or {"train": ratings_data(60, seed=1), "test": ratings_data(20, seed=2)}
    csvs: dict[str, bytes | Path] = {}
    for split, columns in splits.items():
        out = io.BytesIO()
        Dataset.from_dict(columns).to_csv(out, index=False)
        csvs[f"{split}.csv"] = out.getvalue()
    readme = b"---\nlicense: mit\n---\n\n# A CSV dataset\n\nNo parquet in main: see refs/convert/parquet.\n"
    main = commit(root, repo_id, {"README.md": readme, **csvs}, "csv data")
    hub = LocalHub(root, "datasets")
    parquet: dict[str, bytes | Path] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in csvs.items():
            (Path(tmp) / name).write_bytes(data)  # type: ignore[arg-type]
            out = io.BytesIO()
            Dataset.from_csv(str(Path(tmp) / name), cache_dir=str(Path(tmp) / "cache")).to_parquet(out)
            parquet[f"{config}/{name.removesuffix('.csv')}/0000.parquet"] = out.getvalue()
    # The conversion's commit sits on main and replaces every file with the parquet ones. LocalHub commits only to
    # refs/heads/*: commit on a scratch branch, point refs/convert/parquet at it, drop the scratch branch.
    scratch = "convert-parquet-scratch"
    hub.create_branch(repo_id, scratch, main)
    old = tuple(e.path for e in hub.tree(repo_id, main))
    converted = hub.commit(repo_id, parquet, "Update parquet files", branch=scratch, deletions=old)
    hub._git(repo_id, "update-ref", PARQUET_BRANCH, converted)
    hub._git(repo_id, "update-ref", "-d", f"refs/heads/{scratch}")
    return converted


class ReferenceRows(list):
    """The rows `datasets.load_dataset` yielded, with `class_names` (column -> ClassLabel names) and `features`
    (column -> the feature's type name, e.g. "Image", "ClassLabel", "Value")."""

    class_names: dict[str, list[str]]
    features: dict[str, str]


_REFERENCE = textwrap.dedent(
    """
    import pickle, sys
    import datasets

    repo_id, revision, split, out, decode, config = sys.argv[1:7]
    ds = datasets.load_dataset(repo_id, config or None, revision=revision, split=split)
    names = {c: f.names for c, f in ds.features.items() if isinstance(f, datasets.ClassLabel)}
    kinds = {c: type(f).__name__ for c, f in ds.features.items()}
    for column, feature in ds.features.items():
        if isinstance(feature, datasets.Audio) or (isinstance(feature, datasets.Image) and decode != "1"):
            ds = ds.cast_column(column, type(feature)(decode=False))
    rows = []
    for row in ds:
        for column, kind in kinds.items():
            if kind in ("Image", "Audio") and isinstance(row[column], dict):
                row[column] = row[column]["bytes"]
            elif kind == "Image":
                import numpy as np
                row[column] = np.asarray(row[column].convert("RGB"))
        rows.append(row)
    with open(out, "wb") as fh:
        pickle.dump({"rows": rows, "names": names, "kinds": kinds}, fh)
    """
)


def reference_rows(
    endpoint: str,
    repo_id: str,
    revision: str,
    split: str,
    tmp_path: Path,
    columns_decode: bool = False,
    token: str | None = None,
    config: str | None = None,
) -> ReferenceRows:
    """What `datasets.load_dataset(repo_id, config, revision=, split=)` yields from `endpoint`, run in a subprocess (the
    Hub endpoint is read at import) with its own HF_HOME: images as their PNG bytes (as numpy RGB arrays, decoded
    by datasets, with `columns_decode`), audio as its file bytes (datasets decodes audio only through torchcodec),
    labels as ints."""
    home = tmp_path / "reference-hf-home"
    fd, name = tempfile.mkstemp(prefix="reference-", suffix=".pkl", dir=tmp_path)
    os.close(fd)
    out = Path(name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(
        HF_ENDPOINT=endpoint,
        HF_HOME=str(home),
        HF_DATASETS_CACHE=str(home / "datasets"),
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_TELEMETRY="1",
    )
    if token:
        env["HF_TOKEN"] = token
    args = [repo_id, revision, split, str(out), "1" if columns_decode else "0", config or ""]
    proc = subprocess.run(
        [sys.executable, "-c", _REFERENCE, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"datasets.load_dataset({repo_id!r}, revision={revision!r}) failed:\n{proc.stderr}")
    with open(out, "rb") as fh:
        data = pickle.load(fh)
    rows = ReferenceRows(data["rows"])
    rows.class_names, rows.features = data["names"], data["kinds"]
    return rows
