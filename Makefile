# Two set-up-free entry points (see README): `make run` and `make test`.
# Each installs what it needs (.venv, pip packages, Debian chromium) and is idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WORLD ?= devdata/worlds/demo.json
MODE ?= support
RUNNERS ?= 1
QUEUE ?= sqlite
TEST_WORKERS ?= 2

.PHONY: run test lint simulators chromium venv clean postgres xvfb

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

chromium:
	@bash tools/ensure-chromium.sh

run: venv chromium xvfb
	@if [ "$(QUEUE)" = postgres ]; then export "$$(bash tools/postgres.sh | tail -1)"; fi; \
	$(PY) -m bistand demo --world $(WORLD) --mode $(MODE) --runners $(RUNNERS)

postgres:
	@bash tools/postgres.sh

test: venv chromium xvfb
	@bash tools/ensure-iproute.sh
	$(PY) -m ruff check .
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --durations=25 -m "not solo"
	$(PY) -m pytest -q -p no:cacheprovider -m solo

lint: venv
	$(PY) -m ruff check .
	$(VENV)/bin/robocop check tasks resources
	$(VENV)/bin/lint-imports --no-cache

simulators: venv
	$(PY) -m simulators --world $(WORLD)

clean:
	rm -rf $(VENV) output/* state

xvfb:
	@bash tools/ensure-xvfb.sh
