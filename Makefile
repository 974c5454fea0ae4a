# Connectra: the two front-door commands are `make up` and `make test` (see README.md).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install up test test-slow test-chaos services services-stop services-reset lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@command -v python3 >/dev/null || { echo "python3 (3.11+) is required"; exit 1; }
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

up: install
	$(VENV)/bin/connectra up

services: install
	tools/services.sh start

services-stop:
	tools/services.sh stop

# The services keep their data across stop/start; this is the one way to start them empty.
services-reset:
	tools/services.sh reset

# The suite reads the services.env of `make services` itself (tests/conftest.py).
test: install services
	$(PY) -m pytest -m "not slow and not chaos" $(PYTEST_ARGS)

test-slow: install services
	$(PY) -m pytest -m "slow and not chaos" $(PYTEST_ARGS)

# 25-40 minutes on 2 cores: faults of every kind under load, then an audit (tests/chaos/test_soak.py).
test-chaos: install services
	$(PY) -m pytest -m chaos -s $(PYTEST_ARGS) tests/chaos

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy vql stores dbt_like_sql assets orchestration api bench

bench: install services
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(PY) -m bench

clean: services-stop
	rm -rf .connectra
