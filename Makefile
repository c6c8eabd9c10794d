# `make run` starts the embedded demo; `make test` is what CI runs (.ci/run).

VENV ?= .venv
BIN := $(VENV)/bin
# Touched after a successful install: make re-installs only when the lock or pyproject is newer.
STAMP := $(VENV)/.installed

.PHONY: venv run test lint bench chaos screenshots clean

venv: $(STAMP)

# The lock pins every dependency, dev tools included; the project itself is installed editable on top.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e '.[dev]'
	touch $@

run: venv
	$(BIN)/python run.py

test: venv
	bash scripts/ensure-tools.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	APPROVALS_ENVIRONMENT=test $(BIN)/pytest -q -x --durations=15 --tb=native

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

bench: venv
	$(BIN)/python -m bench.run_all

# Faults under load on a private stack (its own PostgreSQL cluster and Temporal data file): the
# parts are killed while clients work, then every project is checked. Not part of `make test`.
# Arguments go through CHAOS_ARGS, e.g. make chaos CHAOS_ARGS="--projects 20 --clients 4".
chaos: venv
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

# Every page at 390 px and 1280 px on a private stack with demo data, as PNGs in docs/screenshots/.
screenshots: venv
	bash scripts/ensure-tools.sh
	$(BIN)/python -m bench.screenshots

clean:
	rm -rf .data
