from huggingface_hub import ModelCard

from zoo.store.card import model_card, publish_config

CONFIG = {
    "zoo_version": "0.1.0",
    "model": "resnet18",
    "model_args": {"num_classes": 3},
    "plugin": "resnet",
    "task": "image-classification",
    "dataset": {"name": "imagefolder", "fingerprint": "sha256:ab"},
    "base_model": "timm/resnet18.tv_in1k",
    "seed": 7,
}


def test_card_metadata_renders_on_the_hub():
    card = ModelCard(model_card("me/flowers", CONFIG, {"accuracy": 0.91, "top5": 0.99}, license="apache-2.0"))
    data = card.data
    assert (data.library_name, data.license, data.base_model) == ("zoo", "apache-2.0", "timm/resnet18.tv_in1k")
    assert data.datasets == ["imagefolder"] and data.pipeline_tag == "image-classification"
    assert {"zoo", "pytorch", "resnet", "image-classification"} <= set(data.tags)
    assert data.model_name == "me/flowers"
    assert {(r.metric_type, r.metric_value, r.dataset_name) for r in data.eval_results} == {
        ("accuracy", 0.91, "imagefolder"),
        ("top5", 0.99, "imagefolder"),
    }
    assert "imagefolder (fingerprint sha256:ab)" in card.text
    assert 'zoo.create_model("me/flowers", pretrained=True)' in card.text


def test_card_without_dataset_or_metrics():
    card = ModelCard(model_card("me/bare", {"zoo_version": "0.1.0", "model": "cnn"}, {}))
    assert card.data.library_name == "zoo" and card.data.eval_results is None


def test_publish_config_adds_metrics_and_keeps_the_run_fields():
    config = publish_config(CONFIG, {"accuracy": 0.5})
    assert config["metrics"] == {"accuracy": 0.5} and config["seed"] == 7 and config["published_with"]


def test_card_shows_the_curves_and_the_command_that_reproduces_it():
    import re
    import shlex

    config = {**CONFIG, "distributed": {"world_size": 2}}
    card = ModelCard(model_card("me/flowers", config, {"accuracy": 0.91}, curves=True, revision="v2"))
    assert "![Training loss and accuracy per epoch" in card.text and "(training_curves.png)" in card.text
    [command] = re.findall(r"## Reproduce\n.*?```bash\n(.*?)\n```", card.text, re.S)
    assert shlex.split(command) == ["zoo", "reproduce", "me/flowers@v2", "--nproc", "2"]
    assert "`sha256:ab`" in card.text  # the fingerprint the data must have
    plain = ModelCard(model_card("me/flowers", CONFIG, {"accuracy": 0.91}))
    assert "training_curves.png" not in plain.text and "```bash\nzoo reproduce me/flowers\n```" in plain.text
