"""`pytest -p gate_figures ...`: every parity gate run in-process appends its figures (model, format, max abs, max
rel, max |eager|, agreement, samples, source) to $ZOO_GATE_FIGURES (default gate_figures.jsonl): the per-model table
of an export issue's closing note. Not loaded by `make test`."""

import json
import os

import zoo.jobs.export as export_module

_original = export_module.export_loaded
#: read once, at load: the tests clear ZOO_* variables for the processes they run
OUT = os.path.abspath(os.environ.get("ZOO_GATE_FIGURES", "gate_figures.jsonl"))
KEPT = ("max_abs", "max_rel", "max_eager", "agreement", "samples", "source", "passed")


def _logged(recipe, model, config, fmt, *args, **kwargs):
    result = _original(recipe, model, config, fmt, *args, **kwargs)
    row = {"model": config.get("model"), "format": fmt, **{k: result["parity"][k] for k in KEPT}}
    with open(OUT, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")
    return result


export_module.export_loaded = _logged
