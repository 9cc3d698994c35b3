"""The conformance suite's `export` check: both formats through zoo export's gate, with its figures; a gate that
fails is a failing check with the figures; a recipe that gives no example inputs is skipped with zoo export's line."""

from types import SimpleNamespace

import pytest
import torch

from zoo.plugin import Agreement, Axis, ExampleInputs, Recipe
from zoo.testing.recipe_checks import EXPORT_FIX, export_figures
from zoo.testing.report import CheckFailed, Runner

SPEC = SimpleNamespace(name="toy", qualified_name="test:toy", task="tabular-classification")


class Rows(Recipe):
    """A recipe of a task zoo does not know, which gives example inputs and judges agreement itself."""

    def example_inputs(self, batch_size):
        rows = torch.linspace(-2, 2, batch_size * 4).view(batch_size, 4)
        return ExampleInputs((rows,), ("features",), ({0: Axis("batch", max=64)},), "rows the test makes")

    def agreement(self, eager, exported, inputs):  # noqa: ARG002
        return Agreement("top-1", int((eager.argmax(1) == exported.argmax(1)).sum()), len(eager))


class NoAgreement(Rows):
    agreement = Recipe.agreement


class Drifting(torch.nn.Linear):
    """Adds how often it ran: the export bakes in the count it was traced with, so it computes something else."""

    calls = 0

    def forward(self, x):
        Drifting.calls += 1
        return super().forward(x) + Drifting.calls


def recipe(cls: type[Recipe]) -> Recipe:
    return cls(None, model_spec=SPEC, dataset_spec=None, data_dir=None)


def model(cls: type[torch.nn.Linear] = torch.nn.Linear) -> torch.nn.Module:
    torch.manual_seed(0)
    return cls(4, 3).eval()


def check_line(body) -> tuple[bool, str]:
    runner = Runner("toyplug", None)
    runner.run("export", "toy-fit with toy", EXPORT_FIX, body)
    return runner.report.ok, runner.report.summary()


def test_both_formats_pass_with_the_gates_figures():
    ok, line = check_line(lambda: export_figures(recipe(Rows), model(), {"model": "toy"}))
    assert ok, line
    assert line.startswith("ok   export [toyplug: toy-fit with toy]: pt2 max |exported - eager| ")
    assert "; onnx max |exported - eager| " in line and line.count("top-1 agreement 100%") == 2
    assert line.endswith("on 8 samples: rows the test makes")


def test_an_export_past_the_gate_fails_the_check_with_the_figures():
    with pytest.raises(CheckFailed) as failed:
        export_figures(recipe(Rows), model(Drifting), {"model": "toy"})
    assert "the pt2 export of toy fails the parity gate: max |exported - eager|" in failed.value.message
    assert "CONTRIBUTING.md, 'Export'" in failed.value.fix


def test_a_recipe_with_example_inputs_but_no_agreement_fails():
    ok, line = check_line(lambda: export_figures(recipe(NoAgreement), model(), {"model": "toy"}))
    assert not ok
    assert line.startswith("FAIL export [toyplug: toy-fit with toy]: NotImplementedError: the recipe NoAgreement")
    assert "implement Recipe.agreement" in line and f"Fix: {EXPORT_FIX}" in line


def test_a_recipe_without_example_inputs_is_skipped_with_zoo_exports_refusal():
    ok, line = check_line(lambda: export_figures(recipe(Recipe), model(), {"model": "toy"}))
    assert ok  # a task zoo does not know may stay unexportable: zoo export refuses it with one line
    assert line == (
        "skip export [toyplug: toy-fit with toy]: not exportable: zoo export answers 'test:toy cannot be exported: "
        "Recipe of task 'tabular-classification': the recipe Recipe gives no example inputs: implement "
        "Recipe.example_inputs and Recipe.agreement (CONTRIBUTING.md, 'Export'), or subclass a built-in task's recipe'"
    )
