# The front door: `make run` and `make test` (see README).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Sets up an SQLite database under var/, loads the demo sandbox world, creates an
# admin login, then runs the web server and one django-q2 cluster until Ctrl-C.
run: setup
	$(BIN)/python -m socialportal.devrun

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Webhook ingest against a bare view (var/bench-ingest.txt), and one day of
# TikTok scanning for 100,000 members on the emulator (var/bench-tiktok.txt).
bench: setup
	timeout 600 $(BIN)/python -m tests.bench.webhook_ingest
	timeout 1200 $(BIN)/python -m tests.bench.tiktok_scan

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var
