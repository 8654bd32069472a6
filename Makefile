# Everything runs from a local virtualenv, created on first use: only Python 3.11+ and make needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := .data/demo
DEMO_CONFIG := $(DEMO_DIR)/village/tiersync.toml
DEMO_PORT ?= 8700

.DELETE_ON_ERROR:
.PHONY: venv demo demo-village test lint format pytest bench soak clean

venv: $(STAMP)

# Re-installs only when pyproject.toml changes.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "tiersync needs Python 3.11 or newer ($(PYTHON) is older)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The article's network as real processes on loopback (prefecture on $(DEMO_PORT)), until Ctrl+C.
demo: venv
	$(BIN)/tiersync demo --base-port $(DEMO_PORT) --data-dir $(DEMO_DIR)

# One village node with 20 sample records, served on 127.0.0.1:$(DEMO_PORT) until Ctrl+C.
demo-village: venv
	$(BIN)/tiersync init --config $(DEMO_CONFIG) --code 632322101201 \
		--name "Dongmen Village" --data-dir $(DEMO_DIR)/village --force
	$(BIN)/tiersync --config $(DEMO_CONFIG) import deploy/sample/village.ndjson
	@echo "Dongmen Village: http://127.0.0.1:$(DEMO_PORT)/api/v1/views/summary (API docs: /docs)"
	$(BIN)/tiersync --config $(DEMO_CONFIG) serve --port $(DEMO_PORT)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Two workers, a test file per worker at a time (module fixtures such as the dashboard's network
# are set up once): most of the suite waits on real processes, a browser or PostgreSQL rather than
# on the CPU. Files in the order tests/conftest.py gives (the longest first), not xdist's order by
# number of tests. PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 2
pytest: venv
	$(BIN)/pytest $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder)

test: lint pytest

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: venv
	$(BIN)/python -m bench.bulk_insert
	$(BIN)/python -m bench.replication --skip-in-process

# The simulator's long profile: 10,000 seeds of the article's prefecture under faults, with a
# progress bar and a summary; every failure prints its seed and replay command
# (docs/reliability.md); then 200 kill -9 cycles of real processes under the same checker.
# SOAK_SEEDS=100 make soak for a shorter one.
SOAK_SEEDS ?= 10000
soak: venv
	$(BIN)/python -m tests.sim soak --seeds $(SOAK_SEEDS) --profile soak
	TIERSYNC_SIM_KILL_CYCLES=200 $(BIN)/pytest -q tests/test_sim_processes.py

clean:
	rm -rf $(VENV) .data .mypy_cache .pytest_cache .ruff_cache
