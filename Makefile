# Two commands matter: `make run` (serve on 127.0.0.1:8080 with SQLite) and `make test` (every test).
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test integration bench knowledge-report clean postgres-server

# constraints.txt pins every transitive dependency to the versions the tests ran with.
$(VENV)/.installed: pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test,postgres]'
	touch $@

install: $(VENV)/.installed

# Local development: client JWT checks are off unless CDS_AUTH_DISABLED=0 and CDS_TRUSTED_CLIENTS are set.
run: $(VENV)/.installed
	CDS_AUTH_DISABLED=$${CDS_AUTH_DISABLED:-1} GUNICORN_BIND=$(HOST):$(PORT) \
	  $(VENV)/bin/gunicorn -c gunicorn.conf.py 'service.wsgi:app'

# The storage tests also run against a real PostgreSQL started on loopback: make sure Debian's package is there.
postgres-server:
	bash tests/support/ensure-postgres.sh

test: $(VENV)/.installed postgres-server
	$(PY) -m pytest

# Real-FHIR-server tests (also part of `make test`): they start sekmet-fhir on loopback in .cache/sekmet-venv, or use
# your server: `FHIR_BASE_URL=https://fhir.example/r4 [FHIR_TOKEN=...] make integration` (docs/integration.md).
integration: $(VENV)/.installed
	FHIR_BASE_URL="$(FHIR_BASE_URL)" FHIR_TOKEN="$(FHIR_TOKEN)" $(PY) -m pytest -m integration tests/integration

bench: $(VENV)/.installed
	$(PY) bench/run.py

knowledge-report: $(VENV)/.installed
	$(PY) -m service knowledge-report

clean:
	rm -rf $(VENV) instance .pytest_cache
