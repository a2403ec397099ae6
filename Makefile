# Two set-up-free entry points (see README): `make run` and `make test`.
# Each installs what it needs (.venv, pip packages, Debian chromium) and is idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
WORLD ?= devdata/worlds/demo.json
MODE ?= support

.PHONY: run test lint simulators chromium venv clean xvfb

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

chromium:
	@bash tools/ensure-chromium.sh

run: venv chromium xvfb
	$(PY) -m bistand demo --world $(WORLD) --mode $(MODE)

test: venv chromium xvfb
	$(PY) -m ruff check .
	$(PY) -m pytest -q -p no:cacheprovider

lint: venv
	$(PY) -m ruff check .
	$(VENV)/bin/robocop check tasks resources

simulators: venv
	$(PY) -m simulators --world $(WORLD)

clean:
	rm -rf $(VENV) output/* state

xvfb:
	@bash tools/ensure-xvfb.sh
