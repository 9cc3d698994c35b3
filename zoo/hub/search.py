"""`zoo search`: models on the Hub (or a Hub-compatible endpoint) that were published with zoo.

The Hub files zoo's repos under the library tag `zoo` (the model card's library_name); the card's `zoo` metadata
names the zoo model and the metric its recipe judged it by, and its model-index holds that metric's value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from zoo.core.errors import UsageError, warn
from zoo.core.schema import DocumentError, Fields, ListOf, Maybe, Number, validate
from zoo.hub.rules import Line, parse_timestamp
from zoo.hub.transport import open_hub

#: --sort -> the Hub's sort key
SORTS = {"downloads": "downloads", "likes": "likes", "updated": "lastModified"}
METRICS = ListOf(Fields({"type": Line(), "value": Number()}, required=("type", "value")))
#: the parts of a model card's metadata that `zoo search` shows (anyone can write a card: one that does not fit is
#: left out of its row with a warning, not fatal to the search)
CARD = Fields(
    {
        "zoo": Maybe(Fields({"model": Maybe(Line()), "metric": Maybe(Line())})),
        "model-index": Maybe(ListOf(Fields({"results": ListOf(Fields({"metrics": METRICS}))}))),
    }
)


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


def _card(item: dict[str, Any], where: str) -> dict[str, Any]:
    """The card metadata of a search result, or {} (with a warning) when it does not fit CARD."""
    try:
        return validate(item.get("cardData") or {}, CARD, f"the model card of {item['id']} on {where}")
    except DocumentError as exc:
        warn(f"{exc}; its model and metric are not shown")
        return {}


def _metric(card: dict[str, Any], name: str | None) -> dict[str, Any] | None:
    """The value of the card's main metric `name` in its model-index, when the card names one."""
    for model in card.get("model-index") or []:
        for result in model.get("results") or []:
            for metric in result.get("metrics") or []:
                if name is not None and metric["type"] == name:
                    return {"name": name, "value": metric["value"]}
    return None


def _found(item: dict[str, Any], where: str) -> Found:
    card = _card(item, where)
    zoo_meta = card.get("zoo") or {}
    updated = parse_timestamp(item["lastModified"]) if item.get("lastModified") else None
    return Found(
        repo_id=item["id"],
        model=zoo_meta.get("model"),
        task=item.get("pipeline_tag"),
        metric=_metric(card, zoo_meta.get("metric")),
        downloads=item.get("downloads") or 0,
        likes=item.get("likes") or 0,
        updated=updated.isoformat() if updated else None,
    )


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
    transport = open_hub(hub)
    return [_found(item, transport.describe()) for item in transport.search(query, task, author, SORTS[sort], limit)]
