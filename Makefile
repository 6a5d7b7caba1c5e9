# Collaboratory — the two commands a fresh machine needs: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test bench install lint check clean-var manage

$(VENV)/.installed: requirements.lock pyproject.toml
	@python=$$(scripts/find-python) || exit 1; \
	  if [ ! -x $(PY) ]; then echo "creating $(VENV) with $$python"; "$$python" -m venv $(VENV); fi
	@$(PY) -m pip install -q --disable-pip-version-check uv
	@$(VENV)/bin/uv pip install -q --compile-bytecode -p $(PY) -r requirements.lock
	@touch $@

install: $(VENV)/.installed

# Serve the demo on http://127.0.0.1:8000 with a Celery worker and beat. Uses DATABASE_URL /
# REDIS_URL when set, else starts PostgreSQL and Redis under var/ (kept between runs).
run: install
	@$(PY) scripts/stack.py run

# Everything CI checks: lint, Django checks, migrations, then the whole suite against
# throwaway PostgreSQL and Redis with a real Celery worker and real Chromium.
test: install
	@$(PY) scripts/stack.py test -- scripts/test-all

# make manage ARGS="verify_audit" (or ARGS='issue_api_token --org riverbend-usd --name "SIS sync"'):
# manage.py with the environment `make run` gives its processes (development SECRET_KEY, DEBUG,
# DATABASE_URL / REDIS_URL of var/'s servers), against a running `make run` or, when none is
# running, var/'s PostgreSQL and Redis started for the duration. Exits with the command's status.
manage: install
	@$(PY) scripts/stack.py manage -- $(ARGS)

# make bench [BENCH=name ...] [SMOKE=1]: SMOKE=1 runs them at tiny sizes, as `make test` does.
bench: install
	@$(PY) scripts/stack.py test -- $(PY) bench/run.py $(if $(SMOKE),--smoke) $(BENCH)

lint: install
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

# Back up the database (pg_dump -Fc) and the stored documents (MEDIA_ROOT) into
# var/backups/<timestamp>/ with a manifest of SHA-256s. Uses DATABASE_URL when set, else the
# `make run` stack under var/.
.PHONY: backup restore chaos
backup: install
	@$(PY) scripts/backup.py backup

# make restore BACKUP=var/backups/<timestamp> [FORCE=1]: verify the manifest, pg_restore into
# the database of DATABASE_URL (refused when it has tables, unless FORCE=1), unpack documents.
restore: install
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=var/backups/<timestamp> [FORCE=1]"; exit 2; }
	@FORCE=$(FORCE) $(PY) scripts/backup.py restore "$(BACKUP)"

# The fault drill on its own (make test runs it too, in tests/reliability/test_chaos.py).
chaos: install
	@$(PY) scripts/chaos.py
