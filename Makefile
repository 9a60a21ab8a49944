# BTI decision service. `make run` serves the bundled guides; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= $(or $(BTI_PORT),8080)
HOST   ?= $(or $(BTI_HOST),127.0.0.1)

.PHONY: setup run test test-quick check lint typecheck rules-check translations translations-check clean bench load soak soak-http image image-test

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 11) <= v < (3, 13) else "Python 3.11 or 3.12 is needed (durable_rules does not import on 3.13); run: make PYTHON=python3.11 ...")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: setup
	$(BIN)/bti serve --host $(HOST) --port $(PORT)

# The last line says how many browser tests were skipped and why (tests/conftest.py), if any were.
test: setup
	$(BIN)/python -m pytest

# the quick loop while working: every test but those marked slow (servers, browser, diff, differential, fuzz)
test-quick: setup
	$(BIN)/python -m pytest -q -m "not slow"

check: lint typecheck rules-check translations-check

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy

rules-check: setup
	$(BIN)/bti check municipalities

# Texts people read (docs/translation.md): extract the message keys from the code, templates and
# script into i18n/locale/<domain>.pot, merge them into every language's .po, then check them all.
TRANSLATION_DOMAINS := pages api
translations: setup
	for domain in $(TRANSLATION_DOMAINS); do \
	  keywords=$$(sed -n 's/^# keywords: //p' i18n/$$domain.cfg); \
	  $(BIN)/pybabel extract --no-default-keywords $$(printf -- ' -k %s' $$keywords) -F i18n/$$domain.cfg \
	    --add-location=file --sort-by-file --width=120 --project=bti-decision-service --version=1 \
	    --header-comment="# Message keys of the $$domain domain (make translations writes this file)." \
	    -o i18n/locale/$$domain.pot . && \
	  $(BIN)/pybabel update --domain=$$domain --input-file=i18n/locale/$$domain.pot --output-dir=i18n/locale \
	    --width=120 --ignore-pot-creation-date --ignore-obsolete --no-fuzzy-matching || exit 1; \
	done
	$(BIN)/python -m i18n.check

translations-check: setup
	$(BIN)/python -m i18n.check

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

# Benchmarks (docs/performance.md); each merges its figures into load/results/bench.json.
SOAK_SECONDS ?= 600
LOCUST := $(BIN)/python -c 'import locust' 2>/dev/null || $(BIN)/python -m pip install --quiet 'locust>=2.20,<3'

bench: setup
	$(BIN)/python -m load.bench_engine
	$(BIN)/python -m load.stages

load: setup
	$(LOCUST)
	$(BIN)/python -m load.run_load
	$(BIN)/python -m load.measure_scale

# The long differential run: the engine against the reference evaluator on DIFF_EXAMPLES random
# cases per guide (about 2-3 minutes per 1000 on this machine; 20000 took 19 minutes).
DIFF_EXAMPLES ?= 20000
soak: setup
	BTI_DIFF_EXAMPLES=$(DIFF_EXAMPLES) $(BIN)/python -m pytest -q -rP tests/test_differential.py -k "not scenario"

soak-http: setup
	$(LOCUST)
	$(BIN)/python -m load.soak --seconds $(SOAK_SECONDS)

# The container image (Containerfile; docs/deployment.md). podman or docker; where no registry is
# reachable, the base is a Debian bookworm made once with debootstrap. Not part of `make test`:
# image-test needs root (or rootless podman) and a minute or two.
IMAGE ?= localhost/bti-decision-service:latest
image:
	IMAGE=$(IMAGE) deploy/container/build-image.sh

image-test: setup
	@if command -v podman >/dev/null 2>&1 || command -v docker >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory image && $(BIN)/python deploy/container/check_image.py --image $(IMAGE); \
	else \
		echo "image-test: skipped: neither podman nor docker is installed (Debian: apt-get install podman runc debootstrap)"; \
	fi
