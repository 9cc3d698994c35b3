"""What a published repository says about its model: config.json and a model card with Hub metadata."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zoo._version import __version__


def publish_config(
    config: dict[str, Any], metrics: dict[str, float], exports: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The run's config.json as published: the run's own fields, with the final metrics, zoo's version and the
    exported models (format -> {path, sha256, size, parity}) when there are any."""
    published = {**config, "metrics": metrics, "published_with": f"zoo {__version__}"}
    if exports:
        published["exports"] = dict(exports)
    return published


def dataset_name(config: Mapping[str, Any]) -> str | None:
    """The dataset a run trained on: its name, whether config.json holds a name or a {name, fingerprint}."""
    dataset = config.get("dataset")
    return dataset.get("name") if isinstance(dataset, dict) else dataset


def _dataset_text(config: dict[str, Any]) -> str | None:
    dataset = config.get("dataset")
    if isinstance(dataset, dict) and dataset.get("fingerprint"):
        return f"{dataset.get('name')} (fingerprint {dataset['fingerprint']})"
    return dataset_name(config)


def _curves_section(config: Mapping[str, Any], metrics: Mapping[str, float]) -> str:
    metric = main_metric(config, metrics)
    shown = "Training loss" + (f" and {metric}" if metric else "")
    return f"""## Training curves

![{shown} per epoch; the star marks the epoch whose weights these are](training_curves.png)
"""


def main_metric(config: Mapping[str, Any], metrics: Mapping[str, float]) -> str | None:
    """The metric a run was judged by: its recipe's best_metric when the run reported it, else its first one."""
    best = (config.get("settings") or {}).get("best_metric")
    return best if best in metrics else next(iter(sorted(metrics)), None)


def _exports_section(repo_id: str, exports: Mapping[str, Any]) -> str:
    """The exported models and what their parity gate measured against the PyTorch model."""
    rows = []
    for fmt, export in sorted(exports.items()):
        parity = export.get("parity") or {}
        agreement = parity.get("agreement") or {}
        rows.append(
            f"| `{export['path']}` | {fmt} | {parity.get('max_abs', float('nan')):.3g} | "
            f"{parity.get('max_rel', float('nan')):.3g} | {agreement.get('name', '')} "
            f"{agreement.get('value', float('nan')):.1%} | {parity.get('samples')} | "
            f"`{str(export['sha256'])[:12]}` |"
        )
    first = sorted(exports)[0]
    return f"""
## Exports

Checked against the PyTorch model before publishing, on real samples at batch sizes 1 and 7 (every output within
atol + rtol x |eager|); `config.json` holds the full figures and each file's sha256, which `zoo pull` verifies.

| file | format | max abs diff | max rel diff | agreement | samples | sha256 |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

```bash
zoo predict {repo_id} INPUT --runtime {first}
```
"""


def reproduce_command(repo_id: str, config: Mapping[str, Any], revision: str = "main") -> str:
    """The `zoo reproduce` command for a published run: the branch when not main, the run's world size."""
    world = (config.get("distributed") or {}).get("world_size") or 1
    target = repo_id if revision == "main" else f"{repo_id}@{revision}"
    return f"zoo reproduce {target}" + (f" --nproc {world}" if isinstance(world, int) and world > 1 else "")


def _reproduce_section(repo_id: str, config: dict[str, Any], revision: str) -> str:
    dataset = config.get("dataset") if isinstance(config.get("dataset"), dict) else {}
    data = (
        f" Pass `--data-dir` with your copy of {dataset.get('name')} unless zoo finds it by itself; zoo refuses data "
        f"whose fingerprint is not `{dataset['fingerprint']}`."
        if dataset.get("fingerprint")
        else ""
    )
    return f"""
## Reproduce

Retrain this model with its recorded recipe, settings and seed, and check every metric above against what the
retrained weights measure (bitwise, within a tolerance, or differs).{data}

```bash
{reproduce_command(repo_id, config, revision)}
```
"""


def model_card(
    repo_id: str,
    config: dict[str, Any],
    metrics: dict[str, float],
    license: str | None = None,
    curves: bool = False,
    revision: str = "main",
    exports: Mapping[str, Any] | None = None,
) -> str:
    """README.md: YAML metadata (library, tags, license, datasets, base_model, model-index) and a body with the
    metrics, the training curves (`curves`: training_curves.png is in the repo), the exported models and their
    parity figures, the training and how to reproduce."""
    from huggingface_hub import ModelCard

    metadata = _card_metadata(repo_id, config, metrics, license)
    body = _card_body(repo_id, config, metrics, curves, revision, exports or {})
    return str(ModelCard(f"---\n{metadata.to_yaml()}\n---\n{body}"))


def _card_metadata(repo_id: str, config: dict[str, Any], metrics: dict[str, float], license: str | None) -> Any:
    """The card's YAML metadata as huggingface_hub's ModelCardData, with a model-index of the metrics."""
    from huggingface_hub import EvalResult, ModelCardData

    task = config.get("task") or "other"
    dataset = dataset_name(config)
    results = [
        EvalResult(
            task_type=task,
            dataset_type=dataset or "unknown",
            dataset_name=dataset or "unknown",
            metric_type=name,
            metric_value=value,
        )
        for name, value in sorted(metrics.items())
    ]
    return ModelCardData(
        library_name="zoo",
        license=license or config.get("license"),
        datasets=[dataset] if dataset else None,
        base_model=config.get("base_model"),
        pipeline_tag=task if task != "other" else None,
        tags=sorted({"zoo", "pytorch", str(config.get("plugin") or "zoo"), task} - {"other"}),
        model_name=repo_id,
        eval_results=results or None,
        # What `zoo search` shows: the zoo model and the metric the recipe chose the best epoch by.
        zoo={"model": config.get("model"), "plugin": config.get("plugin"), "metric": main_metric(config, metrics)},
    )


def _card_body(
    repo_id: str,
    config: dict[str, Any],
    metrics: dict[str, float],
    curves: bool,
    revision: str,
    exports: Mapping[str, Any],
) -> str:
    """The card's Markdown: how to use the model, its metrics, curves, exports and training, and how to reproduce
    it."""
    task = config.get("task") or "other"
    rows = "\n".join(f"| {name} | {value:.4g} |" for name, value in sorted(metrics.items()))
    training = "\n".join(
        f"| {key} | `{value}` |"
        for key, value in (
            ("model", f"{config.get('model')} {config.get('model_args', {})}"),
            ("plugin", f"{config.get('plugin')} {config.get('plugin_version') or ''}".strip()),
            ("recipe", config.get("recipe")),
            ("dataset", _dataset_text(config)),
            ("seed", config.get("seed")),
            ("torch", config.get("torch_version")),
            ("zoo", config.get("zoo_version")),
        )
        if value not in (None, "")
    )
    return f"""
# {repo_id}

A `{config.get("model")}` model for {task}, trained and published with [zoo](https://pypi.org/project/zoo-core/).

## Use it

```bash
zoo pull {repo_id}
```

```python
import zoo

model = zoo.create_model("{repo_id}", pretrained=True)
```

## Metrics

| metric | value |
|---|---|
{rows}

{_curves_section(config, metrics) if curves else ""}{_exports_section(repo_id, exports) if exports else ""}
## Training

| | |
|---|---|
{training}
{_reproduce_section(repo_id, config, revision)}"""
