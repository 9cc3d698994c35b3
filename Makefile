# The README's commands. `make setup` is idempotent: it does nothing when no pyproject or pin changed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ZOO := $(VENV)/bin/zoo
STAMP := $(VENV)/.zoo-setup
PLUGIN_DIRS := $(sort $(dir $(wildcard plugins/*/pyproject.toml)))
PIP := $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: setup test fuzz lint demo bench clean

setup: $(STAMP)
	@bash scripts/install_browser.sh

$(STAMP): pyproject.toml constraints.txt $(addsuffix pyproject.toml,$(PLUGIN_DIRS))
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) setuptools wheel
	$(PIP) --no-build-isolation -e '.[dev,tensorboard]' $(addprefix -e ,$(PLUGIN_DIRS))
	@# MovieLens-100K for the recsys tests and demo comes inside RecBole's wheel; its own dependencies are not needed.
	$(PIP) --no-deps recbole==1.2.1
	$(PY) -m compileall -q zoo $(PLUGIN_DIRS) >/dev/null
	@touch $@

lint: setup
	$(VENV)/bin/ruff check zoo plugins tests bench
	$(VENV)/bin/lint-imports

test: setup lint
	$(PY) -m pytest

# The property-based suite with 15x the examples of `make test` (FUZZ_EXAMPLES=N sets the count per property).
fuzz: setup
	$(PY) -m pytest tests/test_properties.py -q --hypothesis-profile=fuzz --hypothesis-show-statistics

demo: setup
	@bash scripts/demo.sh

bench: setup
	$(PIP) --no-build-isolation -e '.[dev,tensorboard,bench]'
	$(PY) bench/cli_startup.py
	$(PY) bench/pull.py
	$(PY) bench/train_overhead.py
	$(PY) bench/cnn_throughput.py
	$(PY) bench/asr_throughput.py
	$(PY) bench/recsys_scale.py
	$(PY) bench/imagefolder_scale.py
	$(PY) bench/logger_overhead.py
	$(PY) bench/export_speed.py
	$(PY) bench/serve_load.py

clean:
	rm -rf $(VENV) .demo .pytest_cache .ruff_cache .hypothesis
