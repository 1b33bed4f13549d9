# Ballast: `make demo` runs it on this machine, `make test` runs every check CI runs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := postgresql redis-server chromium

.PHONY: demo test lint pytest system-packages bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Ballast needs Python 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

demo: $(VENV)/.runtime
	scripts/demo.sh

# PostgreSQL, Redis and Chromium come from Debian; installed here when run as root.
system-packages:
	@missing=""; \
	for bin in /usr/lib/postgresql/*/bin/initdb:postgresql redis-server:redis-server chromium:chromium; do \
	  path=$${bin%%:*}; pkg=$${bin##*:}; \
	  ls $$path >/dev/null 2>&1 || command -v $$path >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing (run 'make test' as root, or apt-get install them)"; exit 1; \
	  fi; \
	fi

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	BALLAST_SECRET_KEY=lint $(BIN)/mypy
	BALLAST_SECRET_KEY=lint $(BIN)/python manage.py makemigrations --check --dry-run

pytest: $(VENV)/.dev system-packages
	$(BIN)/python -m pytest

test: lint pytest

# Benchmarks write docs/benchmarks/*.md; they are not tests (minutes, not seconds).
bench: $(VENV)/.dev
	$(BIN)/pip install --quiet -r requirements-bench.txt
	$(BIN)/python -m benchmarks.forecasting
	$(BIN)/python -m benchmarks.optimization
	$(BIN)/python -m benchmarks.optimization_ablation
	$(BIN)/python -m benchmarks.policies
	$(BIN)/python -m benchmarks.robustness
	$(BIN)/python -m benchmarks.short_horizon
	$(BIN)/python -m benchmarks.dashboard
	BALLAST_SECRET_KEY=bench $(BIN)/python -m benchmarks.scale
	BALLAST_SECRET_KEY=bench $(BIN)/python -m benchmarks.control
	$(BIN)/python -m benchmarks.request_bounds
	$(BIN)/python -m benchmarks.fidelity

# checkov on the Helm chart as tests/deploy renders it with default and with production values,
# one rendering at a time, from a venv of its own: its pins clash with ours. Not in `make test`.
CHECKOV := checkov==3.3.30
.PHONY: chart-check
chart-check: $(VENV)/.dev
	@test -x var/checkov-venv/bin/checkov || { $(PYTHON) -m venv var/checkov-venv \
	  && var/checkov-venv/bin/pip install --quiet $(CHECKOV); }
	rm -rf var/chart-check
	$(BIN)/python -m tests.deploy.chart var/chart-check default production
	for rendering in default production; do \
	  var/checkov-venv/bin/checkov -f var/chart-check/$$rendering.yaml --framework kubernetes \
	    --compact --quiet --skip-download || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
