# Floorbook: `make run` serves the demo plant, `make test` runs the whole suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 8000
# `make run` serves this machine only; HOST=0.0.0.0 (or the plant-network address) serves others too, and then
# SECRET_KEY must be set (see README, HTTPS on the plant network). https:// when gunicorn serves TLS itself.
HOST ?= 127.0.0.1
SCHEME := $(if $(FLOORBOOK_TLS_CERT),https,http)
# WeasyPrint's libraries and fonts (PDFs); chromium (end-to-end tests) and poppler-utils (PDF pages rasterised) for tests only.
RUN_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
TEST_DEBS := $(RUN_DEBS) chromium poppler-utils
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# `make test` runs the suite on this many pytest-xdist workers (2 suits 2 cores; 0 runs it serially).
# Each worker takes the next test from one queue (--maxschedchunk 2), the long ones first (tests/conftest.py).
# PYTEST_ARGS come last, so `PYTEST_ARGS="-n 0"` runs serially too.
TEST_WORKERS ?= 2

.PHONY: run test setup migrate demo bench clean debs-run debs-test

$(VENV)/.installed: requirements.txt
	@$(PY) -m venv --help >/dev/null 2>&1 && $(PY) -c 'import ensurepip' 2>/dev/null || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

# Test tools (pytest, Playwright for the browser tests, PDF readers) go only where tests or benches run.
$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

debs-run:
	@./scripts/ensure-debs.sh $(RUN_DEBS)

debs-test:
	@./scripts/ensure-debs.sh $(TEST_DEBS)

setup: debs-run $(VENV)/.installed

migrate: setup
	FLOORBOOK_ENV=development $(FLASK) db upgrade

demo: migrate
	FLOORBOOK_ENV=development $(FLASK) demo --base-url $(SCHEME)://localhost:$(PORT)

run: demo
	@echo
	@echo "  Floorbook is starting on $(SCHEME)://localhost:$(PORT)/ (listening on $(HOST))"
	@echo "  Demo logins (password):  operator1 / operator1-demo   inspector1 / inspector1-demo"
	@echo "                           supervisor1 / supervisor1-demo   auditor1 / auditor1-demo   admin / admin-demo"
	@echo "  Badge sign-in on a registered tablet: badge 1001 PIN 1234 (operator1), badge 1002 PIN 2345 (operator2)"
	@echo "  Register a tablet: sign in as admin or supervisor1, open Tablets, 'Register this tablet'."
	@echo "  The board for a TV: the kiosk URL printed above, new on every run (admin can add more under Boards)."
	@echo "  Background worker (PDFs ahead of need): started beside gunicorn, stopped with it."
	@echo
	@# The worker runs in the background; when gunicorn ends (Ctrl-C, or by itself) the trap sends it SIGTERM
	@# and waits while it finishes the job in hand.
	FLOORBOOK_ENV=development $(FLASK) worker & worker=$$!; \
	  trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT; trap 'exit 130' INT TERM; \
	  FLOORBOOK_ENV=development HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: debs-test $(VENV)/.installed-test
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --maxschedchunk 2 $(PYTEST_ARGS)

bench: debs-test $(VENV)/.installed-test
	@# Every bench runs, even after one misses its goal; the target fails at the end naming those that missed.
	@# bare_insert.py and ceilings.py are the apps autosave_load.py serves beside the real one, not benches.
	@failed=""; for f in $(filter-out bench/common.py bench/bare_insert.py bench/ceilings.py,$(wildcard bench/*.py)); do \
	  echo "== $$f"; $(BIN)/python $$f || failed="$$failed $$f"; done; \
	  if [ -n "$$failed" ]; then echo "goals missed:$$failed"; exit 1; fi

clean:
	rm -rf $(VENV) .pytest_cache
