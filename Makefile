# Two commands: `make run` (demo on SQLite, jobs in-process) and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := run.py

.PHONY: run test setup install migrate demo worker serve bench soak audit-deps clean translations

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.lock $(BIN)/python
	$(BIN)/pip install -q -r requirements.lock
	touch $@

install: $(VENV)/.installed

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

test: install translations
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Load: gunicorn -w 4 + one `rq worker` on $DATABASE_URL / $REDIS_URL, 50 users for 60 s (docs/RELIABILITY.md §10).
soak: install translations
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

# PyPI's live advisories for the pins at their latest release, a PyPA advisory-database snapshot for the rest
ADVISORY_REPO ?= /work/.mirror/pypa+advisory-database/repo
audit-deps: install
	$(BIN)/python bench/dep_audit.py --pypi --advisory-repo $(ADVISORY_REPO) -r requirements.lock

clean:
	rm -rf $(VENV) instance
