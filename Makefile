# The two commands of the README: `make demo` runs the hub with demo data, `make test` runs the tests.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test install lint services-up services-down clean

$(STAMP): pyproject.toml
	bash deploy/setup.sh
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install  ## run the whole hub with its demo data; Ctrl-C stops everything
	$(VENV)/bin/cmehub up --demo

test: install  ## start Kafka and PostgreSQL if needed, run the tests, stop what was started
	VENV=$(VENV) bash deploy/test.sh $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check $(wildcard services schemas connectors tests bench)
	$(VENV)/bin/mypy

services-up: install
	bash deploy/kafka/start.sh
	bash deploy/postgres/start.sh

services-down:
	bash deploy/kafka/stop.sh
	bash deploy/postgres/stop.sh

clean:
	rm -rf $(VENV) test-output .pytest_cache .mypy_cache .ruff_cache
