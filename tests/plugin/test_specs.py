import pytest

from zoo.core.errors import ZooError
from zoo.plugin.specs import DatasetSpec, ModelSpec, RecipeSpec, load_object


def test_factory_path_is_imported_only_when_built():
    spec = ModelSpec(
        name="lin", task="regression", factory="torch.nn:Linear", kwargs={"in_features": 3, "out_features": 2}
    )
    model = spec.build(out_features=5)
    assert model.weight.shape == (5, 3)


def test_callable_factory_and_overrides():
    spec = ModelSpec(name="pair", task="test", factory=lambda a, b=1: (a, b), kwargs={"a": 1})
    assert spec.build(b=2) == (1, 2)
    assert spec.qualified_name == "pair"


@pytest.mark.parametrize("name", ["ResNet", "has.dot", "plug:name", "", "-lead", "space name"])
def test_invalid_names_are_refused(name):
    with pytest.raises(ValueError, match="invalid"):
        ModelSpec(name=name, task="image-classification", factory="torch.nn:Identity")


def test_invalid_task_and_factory_are_refused():
    with pytest.raises(ValueError, match="task"):
        ModelSpec(name="ok", task="Image Classification", factory="torch.nn:Identity")
    with pytest.raises(ValueError, match="factory"):
        ModelSpec(name="ok", task="image-classification", factory="torch.nn.Identity")


def test_missing_factory_module_is_a_clear_error():
    spec = ModelSpec(name="ghost", task="test", factory="zoo_no_such_module:build", plugin="ghosts")
    with pytest.raises(ZooError, match="cannot import the factory 'zoo_no_such_module:build' of 'ghosts:ghost'"):
        spec.build()


def test_specs_are_frozen_with_read_only_mappings():
    spec = ModelSpec(name="m", task="t", factory="torch.nn:Identity", kwargs={"a": 1})
    with pytest.raises(TypeError):
        spec.kwargs["a"] = 2
    with pytest.raises(AttributeError):
        spec.name = "other"


def test_dataset_and_recipe_specs():
    data = DatasetSpec(name="ratings-csv", task="recommendation", factory="json:loads", formats=["csv", "tsv"])
    assert data.formats == ("csv", "tsv")
    assert data.build(s="[1]") == [1]
    recipe = RecipeSpec(
        name="mf-explicit",
        model="mf",
        dataset="movielens",
        cpu_defaults={"batch_size": 1024},
        gpu_defaults={"batch_size": 8192},
        metrics=["rmse"],
    )
    assert recipe.defaults("cuda") == {"batch_size": 8192}
    assert recipe.defaults("cpu") == {"batch_size": 1024}
    with pytest.raises(ValueError, match="dataset"):
        RecipeSpec(name="r", model="mf", dataset="")


@pytest.mark.parametrize("device", ["cuda", "cpu", "mps"])
def test_recipe_without_gpu_defaults_keeps_its_cpu_defaults_on_every_device(device):
    recipe = RecipeSpec(name="cpu-only", model="mf", dataset="movielens", cpu_defaults={"lr": 0.5, "epochs": 2})
    assert recipe.defaults(device) == {"lr": 0.5, "epochs": 2}


def test_load_object_walks_attributes():
    assert load_object("os.path:join") is __import__("os").path.join
