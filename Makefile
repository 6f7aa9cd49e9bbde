# Two entry points that work on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint venv system-deps clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# Chromium (browser test) and PostgreSQL binaries (token store, journal) come from Debian.
system-deps:
	bash .ci/system-deps

demo: venv
	bash .ci/system-deps --no-browser
	$(BIN)/sergas-nb demo

test: venv system-deps
	$(BIN)/python -m pytest

# Guard rails: ruff (lint + format) and mypy, configured in pyproject.toml.
lint: venv
	$(BIN)/ruff check sergas_nb tests benchmarks
	$(BIN)/ruff format --check sergas_nb tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) reports .sergas-nb
