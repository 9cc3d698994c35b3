"""The conformance suite (zoo.testing, `zoo plugin check`) on a plugin that breaks the contract eight ways."""

import json
import re

import pytest


@pytest.fixture
def bad(plugin_sites):
    return [plugin_sites("zoo-badcontract")]


def test_each_violation_is_named_with_its_plugin_and_a_fix(run_zoo, bad):
    proc = run_zoo("plugin", "check", "badcontract", sites=bad, timeout=600)
    assert proc.returncode == 1, proc.stderr
    failures = [line for line in proc.stdout.splitlines() if line.startswith("FAIL")]
    expected = {
        "no-torch-on-import [badcontract]": "imports torch",
        "specs [badcontract]": "dataset no-sample has no sample",
        "params [badcontract: shifty]": "zoo lists 6 parameters (built on the meta device) but the built model has 20",
        "build [badcontract: needs_gpu]": "RuntimeError: this model needs a GPU",
        "train-step [badcontract: nan-fit with nan_mlp]": "the training loss is not finite",
        "safetensors [badcontract: forgetful-fit with forgetful]": "reloaded from safetensors gives other outputs",
        "predict [badcontract: forgetful-fit with forgetful]": "returned 0 outputs for 1 inputs",
        "catalog [badcontract]": "weights 'ghost.v1' are for 'ghost', which no plugin registers",
        "claims [badcontract]": "claim_repo raised KeyError: 'architecture' for config.json {}",
        "logger [badcontract: tracker-down]": "log_step raised ConnectionError: the tracking server at 127.0.0.1:9",
    }
    for where, message in expected.items():
        [line] = [f for f in failures if f.startswith(f"FAIL {where}:")]
        assert message in line, line
    [specs] = [f for f in failures if f.startswith("FAIL specs [badcontract]:")]
    assert "recipe nan-fit: no limits for its numeric options width" in specs and "limits=" in specs
    assert len(failures) == len(expected)
    assert all(" Fix: " in line for line in failures)
    assert re.search(r"badcontract: \d+ checks passed, 10 failed", proc.stdout)
    # what the plugin does right passes: the sound model builds, its recipe trains
    assert "ok   build [badcontract: forgetful]" in proc.stdout
    assert "ok   train-step [badcontract: forgetful-fit with forgetful]" in proc.stdout


def test_json_report(run_zoo, bad):
    proc = run_zoo("plugin", "check", "badcontract", "--json", sites=bad, timeout=600)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["plugin"] == "badcontract" and report["ok"] is False
    failed = {c["check"] for c in report["checks"] if not c["ok"]}
    assert failed == {"no-torch-on-import", "specs", "params", "build", "train-step", "safetensors", "predict"} | {
        "catalog",
        "claims",
        "logger",
    }
    assert all(set(c) == {"check", "plugin", "subject", "ok", "message", "fix", "skipped"} for c in report["checks"])


def test_a_sound_third_party_plugin_passes(run_zoo, plugin_sites):
    proc = run_zoo("plugin", "check", "tiny", sites=[plugin_sites("zoo-tinyplug")], timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok   train-step [tiny: tiny-fit with tiny_mlp]" in proc.stdout


def test_unknown_plugin(run_zoo):
    proc = run_zoo("plugin", "check", "nosuch")
    assert proc.returncode == 2 and "no installed plugin named 'nosuch'" in proc.stderr


def test_a_plugin_that_fails_to_load_fails_the_first_check(run_zoo, plugin_sites):
    proc = run_zoo("plugin", "check", "brokenimport", sites=[plugin_sites("zoo-brokenimport")])
    assert proc.returncode == 1
    assert proc.stdout.startswith("FAIL loads [brokenimport]: ")
    assert "Fix: fix that error" in proc.stdout
