# Lockline: `make run` (the demo on embedded defaults) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

# Tests run on PostgreSQL and Redis; override to point elsewhere.
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/lockline)
TEST_REDIS_URL ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/1)
PYTEST_ARGS ?=

.PHONY: run test venv venv-run services bench accuracy soak audit clean

# What the app needs (make run), and on top of it what the tests and tools need.
$(BIN)/.installed-run: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.installed: $(BIN)/.installed-run requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv-run: $(BIN)/.installed-run
venv: $(BIN)/.installed

services:
	bin/services-up

run: venv-run
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_history
	$(PY) manage.py launch_campaign "Demo outreach"
	@echo
	@echo "Lockline is starting: admin at http://127.0.0.1:8000/admin/ (login demo / lockline-demo)"
	@echo
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start -f Procfile.dev

# bin/test-deps installs what the tests need from the system's packages (Debian's chromium for
# the dashboard's browser test); idempotent, and a no-op once installed.
test: venv services
	bin/test-deps
	DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" CELERY_BROKER_URL="$(TEST_REDIS_URL)" \
		$(BIN)/pytest $(PYTEST_ARGS)

# Security audit: no likely secret in a tracked file, no known vulnerability in a pinned
# dependency. Fails on a finding; reports "NOT AUDITED" (and passes) when the vulnerability
# database cannot be reached, as on machines with only the package index.
audit: venv
	$(PY) -m ops.secretscan
	$(PY) -m ops.audit

# Benchmarks: every bench/bench_*.py, each printing medians and ratios against a baseline it
# measures in the same run. Uses the same PostgreSQL and Redis as the tests.
bench: venv services
	$(PY) -m pip install --quiet -r requirements-bench.txt
	@set -e; for script in bench/bench_*.py; do \
		echo "== $$script"; \
		DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" CELERY_BROKER_URL="$(TEST_REDIS_URL)" \
			$(PY) $$script; \
	done

# The bounce parser against the shared Sisimai corpus.
CORPUS ?= ../shared/corpus/sisimai
accuracy: venv
	$(PY) -m bounces.parser.accuracy $(CORPUS)

clean:
	rm -rf var staticfiles .pytest_cache

# The soak run (issue "Hardening under load and faults"): the whole system on private
# PostgreSQL and Redis servers, 20,000 messages, a worker SIGKILLed, Redis and PostgreSQL
# restarted; prints its invariants and fails on any violation. SOAK_MESSAGES to change the size.
SOAK_MESSAGES ?= 20000
soak: venv
	$(PY) -m soak.run --messages $(SOAK_MESSAGES)
