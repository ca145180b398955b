# Two commands: `make run` (demo on SQLite, jobs in-process) and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := run.py

.PHONY: run test lint setup install install-dev lock migrate demo worker serve bench soak fair-share audit-deps advisory-repo clean translations backup restore

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Runtime only (requirements.lock): what setup/serve/worker/run need. No pytest, playwright, schemathesis, fakeredis.
$(VENV)/.installed: requirements.lock $(BIN)/python
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	touch $@

# Runtime + development tools (requirements-dev.lock): tests, linters, the dependency audit.
$(VENV)/.installed-dev: requirements-dev.lock $(VENV)/.installed
	$(BIN)/pip install -q --require-hashes -r requirements-dev.lock
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# Recompile both locks (with hashes) after editing requirements.in / requirements-dev.in. Pins already in a lock
# are kept; `make lock LOCK_ARGS=--upgrade-package=NAME` moves one. pip-tools lives in its own venv.
PIP_TOOLS := pip-tools==7.6.2
LOCK_VENV := .venv-lock
LOCK_FLAGS := --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links
lock:
	test -x $(LOCK_VENV)/bin/pip-compile || { $(PY) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install -q $(PIP_TOOLS); }
	$(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) $(LOCK_ARGS) -o requirements.lock requirements.in
	$(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) $(LOCK_ARGS) -o requirements-dev.lock requirements-dev.in

translations: install
	$(BIN)/pybabel -q compile -f -d app/translations

setup: install translations
	APP_MODE=$${APP_MODE:-demo} $(BIN)/flask db upgrade
	APP_MODE=$${APP_MODE:-demo} $(BIN)/flask sync-roles

demo: setup
	APP_MODE=demo $(BIN)/flask seed-demo --if-empty

run: demo
	@echo "学历继续教育综合服务平台: http://127.0.0.1:$(PORT)  (jjy001 / Demo@2024)"
	APP_MODE=demo $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

# Production: gunicorn + `rq worker` processes (see README).
serve: setup
	$(BIN)/gunicorn -w $${WEB_CONCURRENCY:-4} -b 127.0.0.1:$(PORT) run:app

worker: install
	$(BIN)/rq worker -w app.jobs.worker.AppWorker --url $${REDIS_URL:-redis://127.0.0.1:6379/0} $${RQ_QUEUE:-audit}

# lint first: any ruff or mypy finding fails the run before pytest starts.
test: lint translations
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# ruff (lint + import order) over app/ tests/ bench/, mypy over app/audit app/services app/jobs (pyproject.toml).
lint: install-dev
	$(BIN)/ruff check app tests bench
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Load: gunicorn -w 4 + one `rq worker` on $DATABASE_URL / $REDIS_URL, 50 users for 60 s, plus 1,000 students logging
# in within 5 minutes (docs/RELIABILITY.md §10).
soak: install-dev translations
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

# The queue's fair share with 2 real `rq worker`s: site A bursts 10 archive exports, site B queues one small export;
# B's wait with ORG_OPEN_TASKS_MAX (3) and without it, on $DATABASE_URL / $REDIS_URL (docs/RELIABILITY.md §13).
fair-share: install-dev translations
	$(BIN)/python bench/fair_share.py $(FAIR_ARGS)

# PyPI's live advisories for the pins at their latest release, a PyPA advisory-database snapshot for the rest.
# ADVISORY_REPO: a git directory or checkout of github.com/pypa/advisory-database (required, no default).
audit-deps: advisory-repo install-dev
	$(BIN)/python bench/dep_audit.py --pypi --advisory-repo "$(ADVISORY_REPO)" -r requirements.lock -r requirements-dev.lock

advisory-repo:
	@test -n "$(ADVISORY_REPO)" || { echo "make audit-deps needs ADVISORY_REPO=<git dir or checkout of github.com/pypa/advisory-database>" >&2; exit 2; }

clean:
	rm -rf $(VENV) $(LOCK_VENV) instance

# The database (pg_dump -Fc) and STORAGE_DIR together, dump first (deploy/backup.py says why). DATABASE_URL and
# STORAGE_DIR from the environment (/etc/gd/gd.env); restore into a new empty database and storage directory.
BACKUP_DIR ?= backups
backup: install
	$(BIN)/python deploy/backup.py backup --out "$(BACKUP_DIR)"

restore: install
	@test -n "$(FROM)" || (echo "usage: make restore FROM=backups/gd-YYYYMMDD-HHMMSS" >&2; exit 2)
	$(BIN)/python deploy/backup.py restore --from "$(FROM)"
