# Two entry points that work on a fresh machine: `make demo` and `make test` (and `make lint`).
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

# State stays in the checkout (.sergas-nb/: PostgreSQL, widget renderer cache) so `make clean` finds it;
# as root in a folder the postgres user cannot enter, the cluster lives in /tmp/sergas-nb-pg/<hash>.
demo: venv
	bash .ci/system-deps --no-browser
	SERGAS_NB_CACHE=$(CURDIR)/.sergas-nb/cache $(BIN)/sergas-nb demo --reports reports --work-dir .sergas-nb

# pytest-xdist: the tests mostly wait on servers (emulator, PostgreSQL, JupyterLab, subprocesses), so
# 4 workers suit 2 cores. --dist loadfile keeps a file on one worker (its module fixtures start once:
# the benchmark scripts, a notebook's kernel). TEST_WORKERS=0 runs it serially.
TEST_WORKERS ?= 4
test: venv system-deps
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# Guard rails: ruff (lint + format), mypy and the import contract (import-linter), configured in pyproject.toml.
lint: venv
	$(BIN)/ruff check sergas_nb tests benchmarks
	$(BIN)/ruff format --check sergas_nb tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# Stops the demo's PostgreSQL and removes its data (wherever it lives), then what demo and test left.
clean:
	if [ -x $(BIN)/python ]; then $(BIN)/python -m sergas_nb.lab.pgcluster remove .sergas-nb; fi
	rm -rf $(VENV) reports .sergas-nb .pytest-logs .pytest_cache .ruff_cache .mypy_cache dist
