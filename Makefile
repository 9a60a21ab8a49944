# BTI decision service. `make run` serves the bundled guides; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= $(or $(BTI_PORT),8080)
HOST   ?= $(or $(BTI_HOST),127.0.0.1)

.PHONY: setup run test check lint typecheck rules-check clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 11) <= v < (3, 13) else "Python 3.11 or 3.12 is needed (durable_rules does not import on 3.13); run: make PYTHON=python3.11 ...")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/bti serve --host $(HOST) --port $(PORT)

test: setup
	$(BIN)/python -m pytest

check: lint typecheck rules-check

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy

rules-check: setup
	$(BIN)/bti check municipalities

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
