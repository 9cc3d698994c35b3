import pytest

from zoo.core.errors import CatalogError
from zoo.registry.catalog import parse_catalog
from zoo.registry.catalog_writer import entry_table, render_entry, upsert_entry

TABLE = entry_table(
    model="cnn",
    source="me/cnn",
    revision="a" * 40,
    task="image-classification",
    license=None,
    files={"model.safetensors": "sha256:" + "b" * 64},
    metrics={"accuracy": 0.9},
)


def test_rendered_entry_is_a_valid_pinned_catalog():
    [entry] = parse_catalog(render_entry("cnn.digits", TABLE), "rendered")
    assert entry.pinned and entry.license is None and entry.metrics == {"accuracy": 0.9}


def test_upsert_keeps_comments_and_replaces_in_place(tmp_path):
    path = tmp_path / "registry.toml"
    path.write_text(
        '# team catalog\n[weights."cnn.old"]\nmodel = "cnn"  # keep me\nsource = "me/old"\nrevision = "main"\n'
    )
    upsert_entry(path, "cnn.digits", TABLE)
    upsert_entry(path, "cnn.digits", TABLE | {"revision": "c" * 40})
    text = path.read_text()
    assert text.startswith("# team catalog\n") and "# keep me" in text
    entries = {e.name: e for e in parse_catalog(text, "x")}
    assert entries["cnn.digits"].revision == "c" * 40 and text.count('[weights."cnn.digits"]') == 1


def test_upsert_never_writes_an_invalid_catalog(tmp_path):
    path = tmp_path / "registry.toml"
    path.write_text("# untouched\n")
    with pytest.raises(CatalogError):
        upsert_entry(path, "cnn.bad", TABLE | {"source": "not a repo"})
    assert path.read_text() == "# untouched\n"
