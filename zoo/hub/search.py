"""`zoo search`: models on the Hub (or a Hub-compatible endpoint) that were published with zoo.

The Hub files zoo's repos under the library tag `zoo` (the model card's library_name); the card's `zoo` metadata
names the zoo model and the metric its recipe judged it by, and its model-index holds that metric's value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from zoo.core.errors import UsageError
from zoo.hub.transport import open_hub

SORTS = {"downloads": "downloads", "likes": "likes", "updated": "last_modified"}


@dataclass(frozen=True)
class Found:
    repo_id: str
    model: str | None
    task: str | None
    metric: dict[str, Any] | None
    downloads: int
    likes: int
    updated: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _metric(card: Any, name: Any) -> dict[str, Any] | None:
    """The value of the card's main metric `name` in its model-index, when the card names one."""
    if name is None:
        return None
    for result in getattr(card, "eval_results", None) or []:
        if result.metric_type == name:
            return {"name": name, "value": result.metric_value}
    return None


def search(
    query: str | None = None,
    task: str | None = None,
    author: str | None = None,
    sort: str = "downloads",
    limit: int = 20,
    hub: str | None = None,
) -> list[Found]:
    """Repos published with zoo, matching `query` (in the repo id), `task` and `author`, best first by `sort`."""
    if sort not in SORTS:
        raise UsageError(f"--sort must be one of {', '.join(SORTS)}, got {sort!r}")
    if limit < 1:
        raise UsageError(f"--limit must be a positive number, got {limit}")
    models = open_hub(hub).search(query, task, author, SORTS[sort], limit)
    found = []
    for info in models:
        card = info.card_data
        meta = card.to_dict() if card is not None else {}
        zoo_meta = meta.get("zoo") if isinstance(meta.get("zoo"), dict) else {}
        found.append(
            Found(
                repo_id=info.id,
                model=zoo_meta.get("model"),
                task=info.pipeline_tag,
                metric=_metric(card, zoo_meta.get("metric")),
                downloads=info.downloads or 0,
                likes=info.likes or 0,
                updated=info.last_modified.isoformat() if info.last_modified else None,
            )
        )
    return found
