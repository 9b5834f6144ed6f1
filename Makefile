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

.PHONY: install train samples test test-fast clean-venv

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

clean-venv:
	rm -rf $(VENV)

# Using a trained run (issue 4): export its models, evaluate it, and the
# article's claims (trains each claims_* preset; STEPS= sets the budget).
.PHONY: export evaluate claims

export: $(STAMP)
	$(BIN)/ogan-tf export --run $(RUN)

evaluate: $(STAMP)
	$(BIN)/ogan-tf evaluate --run $(RUN) $(ARGS)

claims: $(STAMP)
	$(BIN)/ogan-tf claims $(if $(STEPS),--steps $(STEPS)) $(ARGS)
