# `make test` is the one command that installs what the tests need and runs them
# (.ci/run runs exactly this). The Go peers (control plane, kubeseal) are built on
# first use by the test fixtures and cached under ~/.cache/sealer-peers.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: test lint install demo bench bench-controller bench-image image clean

# The published image: tagged with the package version and its minor X.Y, never `latest`
# (deploy/README.md, "The image"; tests/deploy/test_manifests.py keeps deploy/ in step).
IMAGE_NAME := ghcr.io/sealer-dev/sealer-controller
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"$$/\1/p' sealer/_version.py)
MINOR := $(word 1,$(subst ., ,$(VERSION))).$(word 2,$(subst ., ,$(VERSION)))

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

install: $(PY)
	bash .ci/system-packages.sh
	$(PY) -m pip install -q -e '.[test]'

test: install
	$(PY) -m pytest

# The gates, each run even when one before it fails: formatting, ruff's rules (pyproject.toml
# says which and why), mypy (strict; its settings in pyproject.toml), and the import-linter
# contracts (the layers and the light start paths).
lint: install
	@status=0; \
	$(VENV)/bin/ruff format --check . || status=1; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/mypy || status=1; \
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

# About 1 minute once the image is built: its size, and its start time against the plain process.
bench-image: install
	$(PY) bench/image_bench.py

# The controller image with buildah on a Debian base made here (.ci/build-image.sh), its SBOM in
# build/. First run about 1.5 min (base 50 s, image 40 s); then seconds.
image:
	bash .ci/system-packages.sh
	SBOM_OUT=build/sealer-controller-$(VERSION).spdx.json bash .ci/build-image.sh image \
	  $(IMAGE_NAME):$(VERSION) $(IMAGE_NAME):$(MINOR)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis .mypy_cache
