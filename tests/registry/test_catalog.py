"""Catalog validation: each kind of mistake names the file, the line, the key and what was expected."""

from pathlib import Path

import pytest
from catalog_mistakes import MISTAKES

from zoo.core.errors import CatalogError
from zoo.registry.catalog import load_catalog, parse_catalog

GOOD = """
[weights."resnet18.tv_in1k"]
model = "resnet18"
source = "timm/resnet18.tv_in1k"
revision = "main"
default = true

[weights."resnet18.tv_in1k".files]
"model.safetensors" = "sha256:{digest}"

[weights."resnet18.tv_in1k".metrics]
"imagenet-1k/acc@1" = 69.758
"""


def test_good_catalog_parses():
    [entry] = parse_catalog(GOOD.format(digest="a" * 64), "good.toml")
    assert (entry.arch, entry.tag, entry.default) == ("resnet18", "tv_in1k", True)
    assert entry.files == {"model.safetensors": "sha256:" + "a" * 64}
    assert entry.metrics == {"imagenet-1k/acc@1": 69.758}
    assert not entry.pinned  # a branch, not a commit


def test_pinned_needs_commit_and_files():
    text = GOOD.format(digest="a" * 64).replace('"main"', '"' + "b" * 40 + '"')
    [entry] = parse_catalog(text, "pinned.toml")
    assert entry.pinned


@pytest.mark.parametrize("kind", sorted(MISTAKES))
def test_each_mistake_is_located_and_explained(kind):
    text, line, words = MISTAKES[kind]
    with pytest.raises(CatalogError) as caught:
        parse_catalog(text, "my.toml")
    message = str(caught.value)
    assert message.startswith(f"my.toml:{line}: " if line else "my.toml: "), message
    for word in words:
        assert word in message


def test_missing_file(tmp_path: Path):
    with pytest.raises(CatalogError, match="catalog file not found"):
        load_catalog(tmp_path / "nope.toml")


def test_builtin_registry_is_valid():
    entries = load_catalog(Path(__file__).parents[2] / "registry.toml")
    names = {e.name for e in entries}
    assert {"resnet18.tv_in1k", "resnet34.tv_in1k", "resnet50.tv_in1k", "wav2vec2_base.960h"} <= names
    resnet18 = next(e for e in entries if e.name == "resnet18.tv_in1k")
    assert resnet18.source == "timm/resnet18.tv_in1k"
    assert resnet18.metrics == {"imagenet-1k/acc@1": 69.758, "imagenet-1k/acc@5": 89.078}
    assert not resnet18.pinned
    wav = next(e for e in entries if e.name == "wav2vec2_base.960h")
    assert wav.source == "facebook/wav2vec2-base-960h"
