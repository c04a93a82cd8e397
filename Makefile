# One-command set-up: `make test` creates .venv, installs nexthop with its test
# and lint tools, then runs linters and the whole test suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: test venv lint unit demo bench fuzz clean

$(BIN)/nexthop: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e . --group dev 2>/dev/null || \
	  $(BIN)/pip install -q -e . pytest hypothesis pytest-timeout httpx mrtparse schemathesis atheris ruff mypy types-PyYAML import-linter
	touch $(BIN)/nexthop

venv: $(BIN)/nexthop

lint: venv
	$(BIN)/ruff check src tests benchmarks fuzz
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: venv
	$(BIN)/pytest -m "not interop"

test: venv lint
	$(BIN)/pytest

demo: venv
	$(BIN)/nexthop demo

fuzz: venv  ## coverage-guided fuzzing, FUZZ_SECONDS per target (default 600)
	for t in decode session route_server; do \
	  $(BIN)/python -m fuzz.run $$t -max_total_time=$${FUZZ_SECONDS:-600} -max_len=8192 || exit 1; \
	done

bench: venv
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
