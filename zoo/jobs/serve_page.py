"""`zoo serve`'s page at GET /: the model card, training curves (inline SVG) and metrics, and a form that asks
POST /predict. One self-contained HTML document: no remote resource, every value escaped, a strict CSP."""

from __future__ import annotations

import base64
import hashlib
import math
import os
import re
from collections.abc import Mapping, Sequence
from html import escape
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from zoo.core.errors import UsageError
from zoo.store.card import dataset_name, main_metric
from zoo.store.curves import CLIP, loss_key, series
from zoo.store.layout import CARD, CURVES
from zoo.store.run_folder import read_history

#: what the form uploads for each task: an image, a sound, or a user id picked from the model's id index
KINDS = {"image-classification": "image", "automatic-speech-recognition": "audio", "recommendation": "user"}
ACCEPT = {"image": "image/*", "audio": "audio/*,.wav,.flac,.mp3,.ogg", "file": ""}
#: how many user ids the form offers; a card or image larger than these is cut / left out
USERS_OFFERED, CARD_BYTES, IMAGE_BYTES = 50, 512 * 1024, 2 * 1024 * 1024
_IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF8": "image/gif"}
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n.*?\r?\n---[ \t]*(\r?\n|\Z)", re.DOTALL)


def page(recipe: Any, run_config: Mapping[str, Any], folder: str | os.PathLike[str], info: Mapping[str, Any]) -> str:
    """The page for the model `info` (GET /info's document) describes, served from `folder` (a run folder or a
    pulled repository's snapshot)."""
    folder = Path(folder)
    metrics = {k: v for k, v in (info.get("metrics") or {}).items() if k != "epoch"}
    best_epoch = (info.get("metrics") or {}).get("epoch")
    card = _card(folder)
    script, css = _asset("page.js"), _asset("page.css")
    values = {
        "csp": escape(_csp(script)),
        "css": css,
        "script": script,
        "title": escape(str(info.get("model") or run_config.get("model") or "model")),
        "subtitle": _subtitle(run_config, folder, info),
        "form": _form(recipe, _task(recipe, run_config, info)),
        "metrics": _metrics_table(metrics, main_metric(run_config, metrics)),
        "curves": _curves(folder, main_metric(run_config, metrics), best_epoch),
        "card_title": "Model card" if card is not None else "About this run",
        "card": card if card is not None else _about(run_config),
        "files": _files(info.get("files") or []),
    }
    return Template(_asset("page.html")).substitute(values)


def _asset(name: str) -> str:
    return (resources.files("zoo") / "templates" / "serve" / name).read_text(encoding="utf-8")


def _csp(script: str) -> str:
    """Only the page's own script runs; images and sounds come from the page itself or the user's own file; the
    page talks only to its server."""
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return (
        f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data: blob:; "
        "media-src blob:; connect-src 'self'; form-action 'self'; base-uri 'none'"
    )


def _task(recipe: Any, run_config: Mapping[str, Any], info: Mapping[str, Any]) -> str:
    spec = getattr(recipe, "model_spec", None)
    return str(getattr(spec, "task", None) or info.get("task") or run_config.get("task") or "")


def _subtitle(run_config: Mapping[str, Any], folder: Path, info: Mapping[str, Any]) -> str:
    parts = [f"<code>{escape(str(info.get('task') or run_config.get('task') or 'model'))}</code>"]
    if run_config.get("plugin"):
        parts.append(f"plugin {escape(str(run_config['plugin']))}")
    if dataset_name(run_config):
        parts.append(f"trained on {escape(str(dataset_name(run_config)))}")
    if info.get("repo_id"):
        revision = str(info.get("revision") or "")
        parts.append(
            f"weights from <code>{escape(str(info['repo_id']))}</code> at <code>{escape(revision[:12])}</code>"
        )
    else:
        parts.append(f"run folder <code>{escape(folder.name)}</code>")
    return " · ".join(parts)


# The form -----------------------------------------------------------------------------------------------------


def _form(recipe: Any, task: str) -> str:
    """A form for one input of the task: an image, a sound, a user id (offered from the id index), or any file."""
    kind = KINDS.get(task, "file")
    if kind == "user":
        users = _users(recipe)
        options = "".join(f'<option value="{escape(u)}"></option>' for u in users)
        first = escape(users[0]) if users else ""
        field = (
            f'<label>User id <input type="text" name="user" list="users" value="{first}" autocomplete="off" '
            f'required></label><datalist id="users">{options}</datalist>'
            f'<span class="muted">{len(users)} of the model\'s users are offered; type any id.</span>'
        )
        verb = "Recommend"
    else:
        accept = f' accept="{ACCEPT[kind]}"' if ACCEPT[kind] else ""
        what = {"image": "an image", "audio": "a sound", "file": "a file"}[kind]
        field = (
            f'<label>Upload {what}: <input type="file" name="file"{accept} required></label>'
            '<div id="preview" class="preview"></div>'
        )
        verb = {"image": "Classify", "audio": "Transcribe", "file": "Predict"}[kind]
    return (
        f'<form id="try" action="predict" method="post" enctype="multipart/form-data" data-kind="{kind}">'
        f'{field}<button type="submit">{verb}</button></form>'
    )


def _users(recipe: Any) -> list[str]:
    """Some user ids of the recommender's id index (none when the run has no index)."""
    try:
        return [str(u) for u in recipe.id_index().users[:USERS_OFFERED]]
    except (AttributeError, UsageError, OSError, ValueError):
        return []


# Metrics and files --------------------------------------------------------------------------------------------


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return escape(str(value))
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _metrics_table(metrics: Mapping[str, Any], main: str | None) -> str:
    if not metrics:
        return '<p class="muted">This model records no metrics.</p>'
    rows = "".join(
        f"<tr{' class=main' if name == main else ''}><th>{escape(str(name))}</th>"
        f'<td class="value">{_number(value)}</td></tr>'
        for name, value in sorted(metrics.items())
    )
    note = f'<p class="muted">Best epoch chosen by <strong>{escape(main)}</strong>.</p>' if main else ""
    return f'<table class="metrics"><tbody>{rows}</tbody></table>{note}'


def _files(files: Sequence[Mapping[str, Any]]) -> str:
    if not files:
        return '<p class="muted">No files listed.</p>'
    rows = "".join(
        f"<tr><td>{escape(str(f.get('path')))}</td><td>{escape(str(f.get('sha256')))}</td></tr>" for f in files
    )
    return f'<table class="files"><thead><tr><th>path</th><th>sha256</th></tr></thead><tbody>{rows}</tbody></table>'


def _about(run_config: Mapping[str, Any]) -> str:
    """A run folder has no model card: what its config.json says about the training instead."""
    settings = run_config.get("settings") or {}
    rows = [
        ("model", f"{run_config.get('model')} {run_config.get('model_args') or ''}".strip()),
        ("plugin", f"{run_config.get('plugin') or ''} {run_config.get('plugin_version') or ''}".strip()),
        ("recipe", run_config.get("recipe")),
        ("dataset", dataset_name(run_config)),
        ("epochs", settings.get("epochs")),
        ("seed", run_config.get("seed")),
        ("finished", run_config.get("finished")),
        ("torch", run_config.get("torch_version")),
        ("zoo", run_config.get("zoo_version")),
    ]
    body = "".join(
        f"<tr><th>{name}</th><td><code>{escape(str(value))}</code></td></tr>" for name, value in rows if value
    )
    return (
        '<p class="muted">A run folder has no model card (<code>zoo publish</code> writes one); its config.json '
        f"says:</p><table><tbody>{body}</tbody></table>"
    )


# The model card -----------------------------------------------------------------------------------------------


def _card(folder: Path) -> str | None:
    """README.md rendered as HTML (raw HTML in it shown as text, unsafe links dropped, local images inlined), or
    None when the folder has none."""
    path = folder / CARD
    if not path.is_file():
        return None
    data = path.read_bytes()[: CARD_BYTES + 1]
    text = _FRONT_MATTER.sub("", data[:CARD_BYTES].decode("utf-8", errors="replace"), count=1)
    html = _markdown(folder).render(text)
    if len(data) > CARD_BYTES:
        html += f'<p class="muted">(the card is cut at {CARD_BYTES // 1024} KiB)</p>'
    return html


def _markdown(folder: Path) -> Any:
    """markdown-it with raw HTML off (it is shown escaped) and its link check (no javascript: or file: URLs);
    an image is shown only from a file of `folder`, inlined, never fetched."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("js-default")

    def image(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:  # noqa: ARG001 - markdown-it rule
        token = tokens[idx]
        alt = "".join(child.content for child in token.children or [])
        src = _inline_image(folder, str(token.attrGet("src") or ""))
        if src is None:
            return f'<span class="muted">[image: {escape(alt)}]</span>'
        return f'<img src="{src}" alt="{escape(alt)}">'

    md.add_render_rule("image", image)
    return md


def _inline_image(folder: Path, src: str) -> str | None:
    """A data: URL of the card's image `src` when it names a small PNG, JPEG or GIF file inside `folder`."""
    if src.startswith("data:image/") and ";base64," in src and len(src) <= IMAGE_BYTES:
        return escape(src)  # markdown-it's link check only lets data: URLs of png, jpeg, gif and webp through
    relative = os.path.normpath(src)
    if not src or "://" in src or relative.startswith(("..", "/")) or os.path.isabs(relative):
        return None
    path = folder / relative
    try:
        if not path.is_file() or path.stat().st_size > IMAGE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    kind = next((mime for magic, mime in _IMAGE_TYPES.items() if data.startswith(magic)), None)
    return f"data:{kind};base64,{base64.b64encode(data).decode()}" if kind else None


# Training curves ----------------------------------------------------------------------------------------------

_W, _H, _LEFT, _RIGHT, _TOP, _BOTTOM = 460, 260, 58, 18, 34, 40
_COLOURS = {"train": "#2f6fde", "val": "#8a93a3", "metric": "#1f8a4c", "best": "#b42318"}


def _curves(folder: Path, metric: str | None, best_epoch: Any) -> str:
    """Inline SVG of metrics.jsonl: the training loss (and validation loss) and the main metric per epoch, the
    best epoch starred; the card's training_curves.png when only that is at hand."""
    try:
        history = read_history(folder)
    except UsageError as exc:
        return f'<p class="muted">No curves: {escape(str(exc))}</p>'
    if not history:
        png = _inline_image(folder, CURVES)
        if png:
            return f'<img src="{png}" alt="training loss and {escape(str(metric))} per epoch">'
        return '<p class="muted">This model has no training history (metrics.jsonl).</p>'
    best = best_epoch if isinstance(best_epoch, int) and not isinstance(best_epoch, bool) else None
    loss = loss_key(history)
    lines = [("training loss" if loss == "train_loss" else "loss", loss, _COLOURS["train"], False)]
    if loss == "train_loss" and metric != "loss":
        lines.append(("validation loss", "loss", _COLOURS["val"], True))
    panels = [
        _panel(
            "loss",
            [(label, *series(history, key), colour, dashed) for label, key, colour, dashed in lines],
            best,
            star=metric is None,
        )
    ]
    if metric and metric != loss:
        panels.append(_panel(metric, [(metric, *series(history, metric), _COLOURS["metric"], False)], best, star=True))
    return f'<div class="curves">{"".join(panels)}</div>'


def _nice_step(span: float, count: int) -> float:
    """A step of 1, 2 or 5 times a power of ten that cuts `span` into about `count` parts."""
    raw = span / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    step = _nice_step(high - low, count)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _panel(
    title: str,
    lines: Sequence[tuple[str, list[int], list[float], str, bool]],
    best: int | None,
    star: bool,
) -> str:
    """One SVG chart: each line's values per epoch, y axis fitted to them, the best epoch marked (starred on the
    line of the metric that chose it)."""
    values = [max(-CLIP, min(CLIP, v)) for _, _, vs, _, _ in lines for v in vs]
    epochs = [e for _, es, _, _, _ in lines for e in es]
    if not values:
        return f'<p class="muted">No finite {escape(title)} values to draw.</p>'
    x0, x1 = min(epochs), max(epochs)
    if x0 == x1:
        x0, x1 = x0 - 1, x1 + 1
    y0, y1 = min(values), max(values)
    pad = (y1 - y0) * 0.08 or abs(y0) * 0.05 or 1.0
    y0, y1 = y0 - pad, y1 + pad

    def x(epoch: float) -> float:
        return round(_LEFT + (epoch - x0) / (x1 - x0) * (_W - _LEFT - _RIGHT), 2)

    def y(value: float) -> float:
        return round(_TOP + (y1 - max(-CLIP, min(CLIP, value))) / (y1 - y0) * (_H - _TOP - _BOTTOM), 2)

    parts = [_axes(x0, x1, y0, y1, x, y)]
    best_value = None
    for label, es, vs, colour, dashed in lines:
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        points = " ".join(f"{x(e)},{y(v)}" for e, v in zip(es, vs, strict=True))
        parts.append(
            f'<polyline data-series="{escape(label)}" points="{points}" fill="none" stroke="{colour}" '
            f'stroke-width="2"{dash}/>'
        )
        parts.extend(
            f'<circle cx="{x(e)}" cy="{y(v)}" r="3" fill="{colour}" data-epoch="{e}" data-value="{v!r}">'
            f"<title>{escape(label)}, epoch {e}: {v:.6g}</title></circle>"
            for e, v in zip(es, vs, strict=True)
        )
        if star and best in es and label == lines[0][0]:
            best_value = vs[es.index(best)]
    heading = escape(title)
    if best is not None and x0 <= best <= x1:
        parts.append(
            f'<line x1="{x(best)}" x2="{x(best)}" y1="{_TOP}" y2="{_H - _BOTTOM}" stroke="{_COLOURS["best"]}" '
            'stroke-dasharray="2 3"/>'
        )
        if best_value is not None:
            parts.append(_star(x(best), y(best_value)))
            heading += f" (best: epoch {best}, {best_value:.4g})"
    parts.append(_legend(lines))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" role="img" '
        f'data-panel="{escape(title)}"><title>{heading} per epoch</title>'
        f'<text class="title" x="{_LEFT}" y="18">{heading}</text>{"".join(parts)}</svg>'
    )


def _axes(x0: float, x1: float, y0: float, y1: float, x: Any, y: Any) -> str:
    """The frame, the grid and the tick labels: epochs (whole numbers) below, values on the left."""
    out = [
        f'<rect x="{_LEFT}" y="{_TOP}" width="{_W - _LEFT - _RIGHT}" height="{_H - _TOP - _BOTTOM}" fill="none" '
        'stroke="#d9dee7"/>'
    ]
    for value in _ticks(y0, y1):
        out.append(f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y(value)}" y2="{y(value)}" stroke="#eef0f4"/>')
        out.append(f'<text x="{_LEFT - 6}" y="{y(value) + 4}" text-anchor="end">{value:.4g}</text>')
    step = max(1, math.ceil(_nice_step(x1 - x0, 8)))
    for epoch in range(math.ceil(x0), math.floor(x1) + 1):
        if epoch >= 1 and (epoch == 1 or epoch % step == 0):
            out.append(f'<text x="{x(epoch)}" y="{_H - _BOTTOM + 16}" text-anchor="middle">{epoch}</text>')
    out.append(f'<text x="{(_LEFT + _W - _RIGHT) / 2}" y="{_H - 6}" text-anchor="middle">epoch</text>')
    return "".join(out)


def _star(cx: float, cy: float, outer: float = 9, inner: float = 4) -> str:
    points = []
    for i in range(10):
        radius, angle = (outer if i % 2 == 0 else inner), math.pi / 2 + i * math.pi / 5
        points.append(f"{cx + radius * math.cos(angle):.2f},{cy - radius * math.sin(angle):.2f}")
    return f'<polygon class="best" points="{" ".join(points)}" fill="{_COLOURS["best"]}"/>'


def _legend(lines: Sequence[tuple[str, list[int], list[float], str, bool]]) -> str:
    if len(lines) < 2:
        return ""
    out = []
    for i, (label, _, _, colour, dashed) in enumerate(lines):
        top = _TOP + 12 + i * 16
        dash = ' stroke-dasharray="5 4"' if dashed else ""
        out.append(
            f'<line x1="{_W - _RIGHT - 150}" x2="{_W - _RIGHT - 126}" y1="{top}" y2="{top}" stroke="{colour}" '
            f'stroke-width="2"{dash}/><text x="{_W - _RIGHT - 120}" y="{top + 4}">{escape(label)}</text>'
        )
    return "".join(out)
