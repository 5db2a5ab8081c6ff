# bstdg: `make train` runs the default experiment, `make test` runs the whole suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Use the offline data copy beside the checkout unless the user chose a data dir.
ifeq ($(origin BSTDG_DATA_DIR), undefined)
  ifneq ($(wildcard ../shared/data),)
    export BSTDG_DATA_DIR := $(abspath ../shared/data)
  endif
endif

.PHONY: setup train test test-fast imports lint bench clean table-%

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev,interop,tonic]'
	$(PY) -m pip install -q --no-deps 'norse>=1.1,<2'
	@touch $(STAMP)

train: setup
	$(VENV)/bin/bstdg-train experiment=mnist_bstdg $(ARGS)

test: setup imports
	WANDB_MODE=disabled OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=2 \
	$(PY) -m pytest $(PYTEST_ARGS)

# the architecture's import rules (.importlinter): core free of Lightning/Hydra/W&B, ...
imports: setup
	$(VENV)/bin/lint-imports --no-cache

test-fast: setup
	WANDB_MODE=disabled OMP_NUM_THREADS=1 $(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check src tests

# one paper table: make table-mnist (sweeps/table_mnist.sh); QUICK=1 SEEDS=1 for a smoke run
table-%: setup
	PATH=$(abspath $(VENV))/bin:$$PATH bash sweeps/table_$*.sh $(ARGS)

bench: setup
	$(VENV)/bin/bstdg-bench $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
