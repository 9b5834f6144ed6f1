# ogan_tf: `make train`, `make samples`, `make test`. Each sets up .venv itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

DATA   ?=
RUN    ?= $(or $(DATA),shapes)
STEPS  ?=
FRESH  ?=
ARGS   ?=

# No DATA: a new run uses the offline default preset, an existing run its own.
TRAIN_FLAGS := $(if $(DATA),--data $(DATA)) --run $(RUN) $(if $(STEPS),--steps $(STEPS)) $(if $(FRESH),--fresh) $(ARGS)

.PHONY: install train samples test test-fast clean-venv bench

# BENCH_ARGS: e.g. --quick, --sizes 64:64, --modes plain,default,bf16,fused,fastest
BENCH_ARGS ?=

install: $(STAMP)

# Rebuilt when the package's dependencies change.
$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

train: $(STAMP)
	$(BIN)/ogan-tf train $(TRAIN_FLAGS)

samples: $(STAMP)
	$(BIN)/ogan-tf samples --run $(RUN)

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_step.py $(BENCH_ARGS)

clean-venv:
	rm -rf $(VENV)
