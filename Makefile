# `make test` is the one command that installs what the tests need and runs them
# (.ci/run runs exactly this). The Go peers (control plane, kubeseal) are built on
# first use by the test fixtures and cached under ~/.cache/sealer-peers.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: test lint install demo bench bench-controller clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

install: $(PY)
	bash .ci/system-packages.sh
	$(PY) -m pip install -q -e '.[test]'

test: install
	$(PY) -m pytest

# The gates, each run even when one before it fails: formatting, ruff's rules (pyproject.toml
# says which and why), and the import-linter contracts (the layers and the light start paths).
lint: install
	@status=0; \
	$(VENV)/bin/ruff format --check . || status=1; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/lint-imports || status=1; \
	exit $$status

demo: $(PY)
	$(PY) -m pip install -q -e .
	sh examples/demo.sh $(VENV)/bin

bench: install
	$(PY) bench/import_profile.py
	$(PY) bench/seal_bench.py
	$(PY) bench/hooks_bench.py
	$(PY) bench/template_bench.py

# About 8 minutes: a control plane, 13 keys, 200 SealedSecrets, ours vs Bitnami's controller.
bench-controller: install
	$(PY) bench/controller_bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
