# The two commands a new user needs: `make run` and `make test`.
# Both keep the virtualenv in .venv/ so any later command can use it.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev migrate seed lint format lock bench clean check-compose

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.lock | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.lock
	touch $@

$(VENV)/.installed-dev: requirements.lock requirements-dev.lock | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.lock
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

## make run: install, migrate, load the demo organisation, start web + worker + beat.
# Emails go to files under var/mail/ (see settings), their links to this address.
# Ctrl-C stops all three: honcho then exits 130, which is how a run ends, not an
# error. Honcho gives them 5 s before SIGKILL; a worker on the local filesystem
# broker needs up to about 6 s (its blocking loop looks for the stop every 2 s),
# hence KILL_WAIT.
HONCHO := $(PY) -c 'import sys, honcho.command, honcho.manager; honcho.manager.KILL_WAIT = 15; sys.exit(honcho.command.main())'
run: seed
	@echo ""
	@echo "  Alignment is starting at http://$(HOST):$(PORT)/  (Ctrl-C stops web, worker and beat)"
	@echo "  Emails are written to $${ALIGNMENT_VAR_DIR:-var}/mail/ (one file per batch sent)"
	@echo ""
	@HOST=$(HOST) PORT=$(PORT) SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)} \
	  $(HONCHO) start -f Procfile -p $(PORT) || [ $$? -eq 130 ]

## make test: lint, migrations check, compose file check, and the whole suite.
test: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install-dev
	$(PY) -m bench

## make lock: re-resolve the pins from pyproject.toml.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet .
	.lockenv/bin/pip uninstall --quiet -y alignment
	(echo "# Runtime pins: make lock rewrites this file."; .lockenv/bin/pip freeze) > requirements.lock
	.lockenv/bin/pip install --quiet ".[dev]"
	.lockenv/bin/pip uninstall --quiet -y alignment
	(echo "# Test and lint pins on top of the runtime ones: make lock rewrites this file."; \
	 echo "-r requirements.lock"; \
	 comm -13 <(grep -v '^#' requirements.lock | sort) <(.lockenv/bin/pip freeze | sort)) > requirements-dev.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) var staticfiles
