from zoo.testing import assert_conformant


def test_zoo_conformance(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    report = assert_conformant("mlflow", tmp_path)
    assert [c.check for c in report.checks if c.check == "logger"] == ["logger"]
