"""Recipes reach pretrained weights through the service zoo hands them (Recipe.pretrained), never `import zoo`."""

import pytest

from zoo.core.errors import ZooError
from zoo.jobs.train import make_recipe, resolve, settings
from zoo.plugin import Recipe, TrainConfig
from zoo.registry.merged import get_registry


def test_every_recipe_zoo_builds_gets_the_catalog_through_the_service():
    mspec, rspec, dspec = resolve("resnet18")
    recipe = make_recipe(rspec, mspec, dspec, settings(rspec, {"device": "cpu"}, {}), None)
    catalog = get_registry()
    assert recipe.pretrained.entry("resnet18") == catalog.weights_entry("resnet18")  # the default weights
    assert recipe.pretrained.entry("resnet18.tv_in1k").source == catalog.weights["resnet18.tv_in1k"].source
    assert [e.name for e in recipe.pretrained.entries(mspec)] == [e.name for e in catalog.weights_for(mspec)]


def test_a_recipe_built_by_hand_says_where_pretrained_weights_come_from():
    recipe = Recipe(TrainConfig(), model_spec=None, dataset_spec=None, data_dir=None)
    for ask in (lambda: recipe.pretrained.load("resnet18.tv_in1k"), lambda: recipe.pretrained.entry("resnet18")):
        with pytest.raises(ZooError, match="built without zoo's pretrained-weights service"):
            ask()
