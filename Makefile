# Ballast: `make demo` runs it on this machine, `make test` runs every check CI runs.
# README.md, "Install", says what they install and which variables change it.

# The newest of Python 3.13, 3.12 and 3.11 that runs here; PYTHON=/path/to/python3.x names one.
SUPPORTED_PYTHON := import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for p in python3.13 python3.12 python3.11 python3; do \
  $$p -c '$(SUPPORTED_PYTHON)' >/dev/null 2>&1 && { command -v $$p; break; }; done)
endif

VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install --quiet

# torch: PyPI's build (CUDA) where nvidia-smi finds a GPU, else the CPU build; TORCH=cpu|cuda
# picks, and .venv keeps the build it has until TORCH names the other. On macOS PyPI's build is
# the CPU one. requirements-torch.lock's header says more.
ifeq ($(origin TORCH),undefined)
TORCH := $(patsubst $(VENV)/.torch-%,%,$(wildcard $(VENV)/.torch-*))
endif
ifeq ($(TORCH),)
TORCH := $(shell nvidia-smi -L >/dev/null 2>&1 && echo cuda || echo cpu)
endif
ifeq ($(filter $(TORCH),cpu cuda),)
$(error TORCH is cpu or cuda, not "$(TORCH)")
endif
# Where the CPU build comes from when no local wheel folder (pip's find-links) has it.
TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu
TORCH_VERSION := $(shell sed -n 's/^torch==\([^ ;]*\).*/\1/p' requirements.txt)
UNAME := $(shell uname -s)

.PHONY: demo test lint pytest system-packages lock bench clean

$(BIN)/pip:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "Ballast needs Python 3.11, 3.12 or 3.13; none of python3.13, python3.12, python3.11"; \
	  echo "or python3 on PATH is one. Install one:"; \
	  if [ "$(UNAME)" = Darwin ]; then echo "  brew install python@3.13"; \
	  elif command -v apt-get >/dev/null; then echo "  sudo apt-get install -y python3 python3-venv"; \
	  elif command -v dnf >/dev/null; then echo "  sudo dnf install -y python3"; \
	  else echo "  from your package manager or https://www.python.org/downloads/"; fi; \
	  echo "or name one: make $(or $(MAKECMDGOALS),test) PYTHON=/path/to/python3.12"; exit 1; \
	fi
	@$(PYTHON) -c '$(SUPPORTED_PYTHON)' || { \
	  echo "Ballast needs Python 3.11, 3.12 or 3.13; $(PYTHON) is $$($(PYTHON) -V 2>&1)."; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  if command -v apt-get >/dev/null; then echo "Install venv: sudo apt-get install -y \
	  python3-venv (or python$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv)"; fi; \
	  exit 1; }
	@echo "$(VENV): $$($(BIN)/python -V) from $(PYTHON)"

$(VENV)/.runtime: requirements.lock | $(BIN)/pip
	$(PIP) --require-hashes -r requirements.lock
	touch $@

# After requirements.lock and with --no-deps: the lock holds torch's dependencies.
$(VENV)/.torch-$(TORCH): requirements-torch.lock $(VENV)/.runtime
ifeq ($(TORCH)$(UNAME),cpuLinux)
	@echo "torch $(TORCH_VERSION)+cpu, the CPU build (TORCH=cuda for PyPI's CUDA build)"
	$(PIP) --no-deps --no-index torch==$(TORCH_VERSION)+cpu 2>/dev/null \
	|| $(PIP) --no-deps --timeout 20 --retries 1 --index-url $(TORCH_INDEX_URL) \
	  torch==$(TORCH_VERSION)+cpu \
	|| { echo "torch $(TORCH_VERSION)+cpu is not in pip's find-links nor at $(TORCH_INDEX_URL):"; \
	  echo "set TORCH_INDEX_URL to a mirror of that index, or TORCH=cuda for PyPI's build"; exit 1; }
else
	@echo "torch $(TORCH_VERSION) from PyPI, hashed ($(if $(filter Darwin,$(UNAME)),CPU,CUDA) build)"
	$(PIP) --require-hashes --no-deps -r requirements-torch.lock
endif
	rm -f $(VENV)/.torch-*
	touch $@

$(VENV)/.dev: requirements-dev.lock $(VENV)/.runtime $(VENV)/.torch-$(TORCH)
	$(PIP) --require-hashes -r requirements-dev.lock
	touch $@

demo: $(VENV)/.runtime $(VENV)/.torch-$(TORCH)
	scripts/demo.sh

# PostgreSQL, Redis and Chromium: found on PATH, in the usual places or named by PG_BIN (or
# PG_CONFIG), REDIS_SERVER and CHROMIUM (tests/programs.py); when one is missing this prints the
# command that installs it and stops, or, as root on Debian or Ubuntu, installs it.
system-packages: $(VENV)/.dev
	@$(BIN)/python -m tests.programs --install

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	BALLAST_SECRET_KEY=lint $(BIN)/mypy
	BALLAST_SECRET_KEY=lint $(BIN)/python manage.py makemigrations --check --dry-run

pytest: $(VENV)/.dev system-packages
	$(BIN)/python -m pytest

test: lint pytest

# requirements*.lock from requirements*.txt (needs PyPI); run after editing those files.
lock: $(VENV)/.dev
	UV=$(BIN)/uv scripts/lock.sh

# Benchmarks write docs/benchmarks/*.md; they are not tests (minutes, not seconds).
bench: $(VENV)/.dev
	$(PIP) -r requirements-bench.txt
	$(BIN)/python -m benchmarks.forecasting
	$(BIN)/python -m benchmarks.optimization
	$(BIN)/python -m benchmarks.optimization_ablation
	$(BIN)/python -m benchmarks.policies
	$(BIN)/python -m benchmarks.robustness
	$(BIN)/python -m benchmarks.short_horizon
	$(BIN)/python -m benchmarks.dashboard
	BALLAST_SECRET_KEY=bench $(BIN)/python -m benchmarks.scale --workloads 4 --rounds 3 --processes 1,2
	BALLAST_SECRET_KEY=bench $(BIN)/python -m benchmarks.web_start
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
