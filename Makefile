# Tiny Tracker retention warehouse. `make demo` and `make test` are the two commands a new user
# needs; both install everything first (uv is bootstrapped with pip when missing).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
TT := $(BIN)/tinytracker
UV = $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")

# The demo uses the default warehouse; tests use their own file so they never clobber it.
DEMO_DIR := demo
TEST_DIR := warehouse/test
TEST_DB := $(TEST_DIR)/tinytracker.duckdb
# Benchmark sizes (pupils on roll, one academic year of attendance); see docs/benchmarks.md.
BENCH_SIZES ?= 10000 30000 100000
BENCH_SMOKE_SIZES ?= 1000
BENCH_LARGE_SIZES ?= 300000 1000000

.PHONY: help setup demo test checks pytest dbt-test lint validate ui docs clean bench bench-smoke bench-large \
	reliability report-screenshot bytecode

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: $(VENV)/.installed  ## install Python 3.11 deps into .venv with uv (from uv.lock)

# Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE is set (CI images, this machine)
# Python never caches it, and every command recompiled dbt and Dagster first (~2.5 s each).
$(VENV)/.installed: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 \
		|| { echo "bootstrapping uv with pip"; $(PYTHON) -m pip install --quiet uv; }
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	$(BIN)/python -m compileall -q -j 0 tinytracker orchestration bench > /dev/null
	@touch $@

demo: setup  ## generate a synthetic trust, load it, build every model, show what happened
	@bash tinytracker/cli/demo.sh

# The checks of make test, each a target of its own. pytest keeps both cores busy by itself and
# runs first; the others wait on one thread for a third of their time, so they then run side by
# side, each printed whole when it ends (bench/make_test_time.py; `make checks`: one by one).
CHECKS_ALONE := pytest
CHECKS_TOGETHER := dbt-test lint validate bench-smoke
CHECKS := $(CHECKS_ALONE) $(CHECKS_TOGETHER)
# pytest's report of every test's time (setup, call and teardown), which make test's record
# sums per test file for docs/benchmarks.md
PYTEST_REPORT := bench/out/pytest-report.xml

test: setup  ## every check: pytest, dbt build on a synthetic extract, lint, Dagster validation (timed)
	@$(BIN)/python bench/make_test_time.py --record bench/out/make-test.json \
		--pytest-report $(PYTEST_REPORT) --steps $(CHECKS_ALONE) --together $(CHECKS_TOGETHER) \
		-- $(MAKE) --no-print-directory

checks: setup  ## the checks of make test, without recording their time (bench/make_test_time.py)
	@for check in $(CHECKS); do $(MAKE) --no-print-directory $$check || exit 1; done
	@echo "make test: all checks passed"

pytest: setup  ## Python tests (tests/python), one worker per core, a test module per worker
	$(BIN)/dbt parse --profiles-dir . --target dev --quiet  # the manifest Dagster's tests load
	$(BIN)/pytest -q -n auto --dist loadfile --no-loadscope-reorder --durations=25 \
		--junitxml=$(PYTEST_REPORT) -o junit_duration_report=total

dbt-test: export TINYTRACKER_DB := $(abspath $(TEST_DB))
dbt-test: setup  ## dbt build (seeds, models, data tests, unit tests) on a fresh synthetic extract
	rm -rf $(TEST_DIR) && mkdir -p $(TEST_DIR)
	$(TT) generate --out $(TEST_DIR)/extract --pupils 800 --organisations 8 --years 3 --seed 11
	$(TT) load $(TEST_DIR)/extract || [ $$? -eq 4 ]
	$(BIN)/dbt build --profiles-dir . --target dev --target-path target/test --vars '{full_tests: true}'

lint: setup  ## Python (ruff lint + format, import layers, mypy) and SQL (sqlfluff against the throwaway `ci` target)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/sqlfluff lint models tests --processes 2

validate: setup  ## Dagster definitions load and validate (dbt parse first: dagster-dbt reads the manifest)
	$(BIN)/dbt parse --profiles-dir . --target dev
	$(BIN)/dagster definitions validate -m orchestration.definitions

# make ui and make docs open env TINYTRACKER_DB; when it is not set and there is no warehouse at
# the default path, the demo's (after make demo: its env.sh), else docs says what to export.
USE_DEMO = if [ -z "$${TINYTRACKER_DB:-}" ] && [ ! -f warehouse/tinytracker.duckdb ] \
	&& [ -f $(DEMO_DIR)/env.sh ]; then . ./$(DEMO_DIR)/env.sh; \
	echo "make: using the demo warehouse $$TINYTRACKER_DB (as of $$TINYTRACKER_AS_OF)"; fi

ui: setup  ## start the Dagster UI on TINYTRACKER_DB (the demo's after make demo)
	@$(USE_DEMO); export DAGSTER_HOME=$${DAGSTER_HOME:-$(abspath orchestration/dagster_home)}; \
	unset DBT_TARGET_PATH; \
	[ -f "$${TINYTRACKER_DB:-warehouse/tinytracker.duckdb}" ] || echo "make: no warehouse yet at \
	$${TINYTRACKER_DB:-warehouse/tinytracker.duckdb}: a build or load creates it (or run make demo)"; \
	exec $(BIN)/dagster dev -m orchestration.definitions

docs: setup  ## the dbt docs of TINYTRACKER_DB (the demo's after make demo), served on :8080
	@$(USE_DEMO); db=$${TINYTRACKER_DB:-warehouse/tinytracker.duckdb}; \
	[ -f "$$db" ] || { echo "make docs: no warehouse at $$db: run make demo, or export \
	TINYTRACKER_DB=/path/to/tinytracker.duckdb"; exit 2; }; \
	$(BIN)/dbt docs generate --profiles-dir . --target dev --quiet && \
	exec $(BIN)/dbt docs serve --profiles-dir . --port 8080

reliability: setup  ## the long reliability suite: every fault point, kills, corruptions, concurrent writers (docs/reliability.md)
	$(BIN)/dbt parse --profiles-dir . --target dev --quiet
	TINYTRACKER_RELIABILITY=long $(BIN)/pytest -q -n auto --dist loadfile --no-loadscope-reorder tests/reliability

# Our own packages' bytecode as their sources are now. `make setup` compiles it once; where
# PYTHONDONTWRITEBYTECODE is set, a module edited since then is compiled again by every command
# a benchmark times (~0.2 s of a command's start measured here), which no user's install pays.
bytecode: setup
	@$(BIN)/python -m compileall -q -j 0 tinytracker orchestration bench > /dev/null

bench: bytecode  ## benchmark 10k/30k/100k-pupil trusts vs the SQL floor and a per-subject eraser; writes docs/benchmarks.md
	$(BIN)/python bench/run.py --sizes $(BENCH_SIZES) --doc

# DuckDB's default 2 GB failed the 1M-pupil build (docs/scaling.md): 8 GB unless set
bench-large: export TINYTRACKER_MEMORY_LIMIT ?= 8GB
bench-large: bytecode  ## where one machine ends: 300k and 1M pupils, every stage with memory and disk; writes docs/scaling.md
	$(BIN)/python bench/run.py --sizes $(BENCH_LARGE_SIZES) --large --sample 20 --out bench/out/large --doc

bench-smoke: bytecode  ## the benchmark harness on one small trust (bench/out/smoke, docs untouched; part of make test)
	$(BIN)/python bench/run.py --sizes $(BENCH_SMOKE_SIZES) --sample 20 --out bench/out/smoke

report-screenshot: setup  ## the DPO page of the demo warehouse (make demo first) as docs/dpo-report.png (needs Chromium)
	@test -f $(DEMO_DIR)/tinytracker.duckdb || { echo "no demo warehouse: run make demo first"; exit 1; }
	TINYTRACKER_DB=$(abspath $(DEMO_DIR)/tinytracker.duckdb) $(TT) report --html --out $(DEMO_DIR)/report
	$(BIN)/python tests/python/browser.py $(DEMO_DIR)/report/report.html docs/dpo-report.png 1800

clean:  ## remove build output and the local warehouses (not the demo extract's source)
	rm -rf target logs $(TEST_DIR) $(DEMO_DIR)
