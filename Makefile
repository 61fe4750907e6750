# 善联 CharityLink — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

# English beside Chinese: the catalogue's source (.po) is in the repository; the
# compiled .mo is built here, before anything runs (docs/i18n.md).
CATALOGS := platform/charitylink/translations
MO_FILES := $(patsubst %.po,%.mo,$(wildcard $(CATALOGS)/*/LC_MESSAGES/messages.po))

.PHONY: migration-regen run test test-sqlite test-postgres lint format serve worker bench clean help translations messages

help:
	@echo "make run    — install, create/upgrade the SQLite database, load demo data, serve http://$(HOST):$(PORT)"
	@echo "make test   — install test extras, lint, run the whole suite (SQLite, then PostgreSQL if available)"
	@echo "make serve  — run under gunicorn (production-style) against DATABASE_URL"
	@echo "make lint   — ruff check and format check, mypy"
	@echo "make messages     — extract marked strings and update the catalogues (docs/i18n.md)"
	@echo "make translations — compile the catalogues (.po → .mo); run and test do it"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.app-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

# Fuzzy entries are not compiled: a guessed translation is an untranslated one.
%.mo: %.po | $(VENV)/.app-installed
	$(BIN)/pybabel compile -i $< -o $@

translations: $(MO_FILES)

messages: $(VENV)/.app-installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --add-location=file --sort-by-file --project=CharityLink --copyright-holder=CharityLink -o $(CATALOGS)/messages.pot .
	$(BIN)/pybabel update -i $(CATALOGS)/messages.pot -d $(CATALOGS) --no-fuzzy-matching --ignore-obsolete

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	@touch $(VENV)/.app-installed $@

run: $(VENV)/.app-installed translations
	$(FLASK) init-db
	$(FLASK) seed --if-empty
	$(FLASK) search rebuild --if-missing
	$(FLASK) run --host $(HOST) --port $(PORT)

serve: $(VENV)/.app-installed translations
	$(FLASK) init-db
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

worker: $(VENV)/.app-installed translations
	$(FLASK) search worker

lint: $(VENV)/.test-installed
	$(BIN)/ruff check platform tests bench wsgi.py
	$(BIN)/ruff format --check platform tests bench wsgi.py
	$(BIN)/mypy

format: $(VENV)/.test-installed
	$(BIN)/ruff check --fix platform tests bench wsgi.py
	$(BIN)/ruff format platform tests bench wsgi.py

# The whole suite on SQLite and on PostgreSQL (started on a loopback port by
# .ci/pg.sh when its binaries are present; CI installs them), side by side on a
# machine with two cores or more (.ci/both.sh; TEST_SERIAL=1 for one after the other).
test: lint translations
	bash .ci/browser.sh
	bash .ci/both.sh $(BIN)/pytest

test-sqlite: $(VENV)/.test-installed translations
	$(BIN)/pytest

test-postgres: $(VENV)/.test-installed translations
	bash .ci/pg.sh run $(BIN)/pytest

bench: $(VENV)/.test-installed
	@ls bench/*.py

clean:
	rm -rf $(VENV) .pytest_cache

# Before the first release only: regenerate the initial migration (revision 0001)
# from the models. After a release, add new revisions with `flask db migrate`.
migration-regen: $(VENV)/.test-installed
	rm -f platform/charitylink/migrations/versions/*_0001_initial.py
	d=$$(mktemp -d) && mv platform/charitylink/migrations/versions/*_000[2-9]_*.py $$d/ && \
	  CHARITYLINK_INSTANCE=$$d DATABASE_URL=sqlite:///$$d/empty.db \
	  $(FLASK) db revision --autogenerate --rev-id 0001 -m initial; \
	  mv $$d/*_000[2-9]_*.py platform/charitylink/migrations/versions/ && rm -rf $$d
	cd platform/charitylink/migrations/versions && f=$$(ls *_0001_initial.py) && \
	  [ "$$f" = 20261128_0001_initial.py ] || mv "$$f" 20261128_0001_initial.py
