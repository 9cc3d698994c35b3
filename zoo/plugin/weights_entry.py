"""A catalog entry: named pretrained weights, as registry.toml, ZOO_REGISTRY files and plugins' catalogs state them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

COMMIT_RE = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class WeightsEntry:
    """One named set of pretrained weights: `arch.tag`, pinned by revision and per-file sha256."""

    name: str
    model: str
    source: str
    revision: str
    origin: str
    task: str | None = None
    license: str | None = None
    description: str = ""
    default: bool = False
    files: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    preprocessing: Mapping[str, Any] = field(default_factory=dict)

    @property
    def arch(self) -> str:
        return self.name.rsplit(".", 1)[0]

    @property
    def tag(self) -> str:
        return self.name.rsplit(".", 1)[1]

    @property
    def pinned(self) -> bool:
        """True once the revision is a commit id and every file has a sha256."""
        return bool(COMMIT_RE.fullmatch(self.revision)) and bool(self.files)
