from zoo.testing import assert_conformant


def test_the_plugin_passes_zoos_conformance_suite(tmp_path):
    report = assert_conformant("images", tmp_path)
    assert {c.check for c in report.checks} >= {"loads", "no-torch-on-import", "specs", "catalog"}
