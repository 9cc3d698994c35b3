"""What `--data-dir` names: a local folder, or a Hub dataset repo (`hf://datasets/ORG/NAME[@REV]`) pulled and
verified once, here, before any training process starts."""

from __future__ import annotations

import os
from pathlib import Path

from zoo.hub.datasets import is_hub_uri, open_source
from zoo.plugin.hubdata import HubSource


def open_data_dir(
    data_dir: str | os.PathLike[str] | None, hub: str | os.PathLike[str] | None = None, offline: bool = False
) -> Path | HubSource | None:
    """The folder, or the Hub repo's verified parquet files at the commit its revision names now."""
    if data_dir is None:
        return None
    if is_hub_uri(str(data_dir)):
        return open_source(str(data_dir), hub, offline)
    return Path(data_dir)
