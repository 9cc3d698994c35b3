"""The plugin author's surface: one import, typed, no torch; a recipe keeps its constructor's arguments by name."""

import inspect
import json
import subprocess
import sys
import typing

import zoo.plugin
from zoo.engine.settings import build_config
from zoo.plugin import hooks as hookspecs


def test_one_import_gives_every_name_without_torch():
    code = (
        "import json, sys\nfrom zoo.plugin import *\nimport zoo.plugin\n"
        "print(json.dumps([sorted(zoo.plugin.__all__), [m for m in ('torch', 'numpy') if m in sys.modules]]))"
    )
    names, heavy = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
    surface = {"ModelSpec", "DatasetSpec", "RecipeSpec", "Sample", "Recipe", "Data", "Claim", "ForeignRepo", "hookimpl"}
    assert surface <= set(names)
    assert heavy == []
    assert all(getattr(zoo.plugin, name) is not None for name in zoo.plugin.__all__)


def test_hooks_and_recipe_are_typed_with_torch_types_for_checkers():
    for name in ("register_models", "register_datasets", "register_recipes", "register_catalog"):
        assert inspect.signature(getattr(hookspecs, name)).parameters["register"].annotation.startswith("Callable[")
    import torch

    scope = {**vars(sys.modules["zoo.plugin.recipe"]), "torch": torch, "nn": torch.nn}  # what TYPE_CHECKING imports
    hints = typing.get_type_hints(zoo.plugin.Recipe.loss, scope)
    assert hints["return"] is torch.Tensor and hints["model"] is torch.nn.Module


def test_a_recipes_attributes_carry_its_constructors_argument_names():
    from zoo.registry.merged import get_registry

    registry = get_registry()
    rspec = registry.recipes.get("cnn-cifar10")
    mspec, dspec = registry.model("cnn"), registry.datasets.get("digits")
    config = build_config(rspec.defaults("cpu"), {}, {})
    recipe = rspec.resolve_factory()(config, model_spec=mspec, dataset_spec=dspec, data_dir=None, recipe_spec=rspec)
    for name in inspect.signature(zoo.plugin.Recipe.__init__).parameters:
        if name != "self":
            assert hasattr(recipe, name), name
    assert (recipe.model_spec, recipe.dataset_spec, recipe.recipe_spec) == (mspec, dspec, rspec)
