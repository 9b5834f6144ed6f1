"""Speed settings chosen by measuring this machine: what `auto` means for
XLA (jit_compile) and the fused step.

Which of them trains faster depends on the CPU or GPU, the backend and the
model's size (XLA is faster at one size on one CPU and 30% slower at
another), so a rule written into a preset is wrong somewhere. Neither
changes what the step computes. A new run whose setting is `auto` times a
few steady steps of each candidate on its own model and images
(tracing and compiling excluded), keeps the fastest, says in one line what
it measured and chose, and records the choice in its config.json (so a
resumed run keeps it; a run saved with `auto` keeps the fixed rule). The
figures are cached per machine, backend, versions and model shape
(``cache_path()``), so the next run of the same shape on the same machine
reuses them. An explicit on/off is never
measured. A run too short for the measurement to pay (MEASURE_MIN_STEPS)
and a distributed one take the fixed rule instead: XLA as Keras decides
(on with a GPU), the fused step on the backends that have it.
"""

import itertools
import json
import math
import os
import time
from pathlib import Path

import keras

from .. import __version__
from ..data.pipeline import training_dataset
from ..data.sources import open_source
from ..errors import OganError
from ..messages import say
from ..model.step import FUSED_BACKENDS
from ..runs.files import atomic_write
from . import hardware
from .building import build_model  # the run's own model, as training builds it

MEASURE_MIN_STEPS = 2000  # steps a run must have before measuring pays
WARMUP_STEPS = 3  # the first traces and compiles; not timed
PROBE_STEPS = 4  # then a first timing, which sizes the rounds
ROUND_SECONDS = 1.0  # each timed round lasts about this long
ROUNDS = 2  # timed rounds of each candidate, interleaved; the best counts
CACHE_ENV = "OGAN_CACHE_DIR"
# What decides a step's speed besides the speed settings themselves.
SHAPE_FIELDS = ("resolution", "variant", "channels", "z_dim", "batch_size", "encoder_norm",
                "gan_loss", "encoder_term", "precision", "augment", "rmsprop_update")


def candidates(config):
    """The concrete values each `auto` speed setting may take here: a list
    of {setting: value} (one empty dict where nothing is to measure)."""
    backend = keras.backend.backend()
    options = {}
    if config.jit_compile == "auto" and backend == "tensorflow":
        options["jit_compile"] = (True, False)  # JAX always compiles with XLA
    if config.fused_step == "auto" and backend in FUSED_BACKENDS:
        options["fused_step"] = (True, False)
    names = list(options)
    return [dict(zip(names, values)) for values in itertools.product(*options.values())]


def label(choice):
    """{'jit_compile': True, 'fused_step': False} -> 'XLA on, fused step off'."""
    words = {"jit_compile": "XLA", "fused_step": "fused step"}
    return ", ".join(f"{words[k]} {'on' if v else 'off'}" for k, v in choice.items())


def cache_key(config):
    """What a measurement holds for: machine, backend, versions, model shape."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        engine = f"jax {jax.__version__}"
    else:
        import tensorflow as tf

        engine = f"tensorflow {tf.__version__}"
    flags = sorted(hardware.cpu_flags() & {"avx2", "avx512f", "avx512_bf16", "amx_bf16",
                                           "amx_tile", "avx512_vnni"})
    machine = [hardware.cpu_name(), os.cpu_count(), flags, list(hardware.accelerators())]
    shape = {name: getattr(config, name) for name in SHAPE_FIELDS}
    options = sorted(candidates(config)[0])  # the settings measured
    return json.dumps([machine, backend, engine, keras.__version__, __version__, shape,
                       options], sort_keys=True, default=str)


def cache_path():
    """$OGAN_CACHE_DIR/speed.json, else $XDG_CACHE_HOME/ogan_tf/, else ~/.cache/ogan_tf/."""
    root = os.environ.get(CACHE_ENV)
    if not root:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ogan_tf"
    return Path(root).expanduser() / "speed.json"


def read_cache():
    try:
        return json.loads(cache_path().read_text())
    except (OSError, ValueError):
        return {}  # none yet, or unreadable: measure again


def write_cache(key, rates):
    entries = read_cache()
    entries[key] = rates
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(entries, indent=1)))
    except (OSError, OganError):  # a full disk too
        pass  # a cache that cannot be written only costs the next run a measurement


def resolve(config, placement, log=say, measure=None):
    """config with each `auto` speed setting made on/off by measurement (or
    the cache); unchanged where nothing is `auto`, the run is distributed,
    or it is too short to measure (the fixed rule then applies).
    measure(config, choices) -> {label: steps/s}: the timer (tests swap it)."""
    choices = candidates(config)
    if len(choices) < 2 or placement.workers > 1 or config.strategy != "none":
        return config
    key = cache_key(config)
    rates = read_cache().get(key)
    source = "cached for this machine"
    if rates is None or set(rates) != {label(c) for c in choices}:
        if config.steps < MEASURE_MIN_STEPS:
            return config
        began = time.perf_counter()
        rates = (measure or measure_steps)(config, choices)
        write_cache(key, rates)
        source = f"measured in {time.perf_counter() - began:.0f} s, cached"
    best = max(choices, key=lambda c: rates[label(c)])
    told = "; ".join(f"{name} {rate:.2f}" for name, rate in
                     sorted(rates.items(), key=lambda item: -item[1]))
    log(f"speed: {label(best)} (steps/s: {told}; {source}; pass --jit-compile or "
        "--fused-step on/off to choose)")
    return config.replace(**best)


def measure_steps(config, choices):
    """{label: steady steps/s} of a throwaway model per choice, through
    Keras fit as training runs it, on a few batches of the run's own input
    pipeline held in memory (measurement_batches). Each choice first
    compiles (WARMUP_STEPS, not timed) and is probed (PROBE_STEPS); then
    ROUNDS rounds of about ROUND_SECONDS each, the choices interleaved, the
    first step of a round not timed. Each choice's best round counts: the
    machine's other load only slows a round down."""
    data = measurement_batches(config)
    models = {label(c): build_model(config.replace(**c)) for c in choices}
    best, steps = {}, {}
    for name, model in models.items():
        best[name] = _timed_fit(model, data, WARMUP_STEPS, PROBE_STEPS)
        steps[name] = max(PROBE_STEPS, math.ceil(ROUND_SECONDS * best[name]))
    for _ in range(ROUNDS):
        for name, model in models.items():
            best[name] = max(best[name], _timed_fit(model, data, 1, steps[name]))
    return best


def measurement_batches(config, count=4):
    """`count` batches of the run's input pipeline, repeated from memory.
    One iterator of the pipeline is made and dropped: each fit of the
    measurement makes its own iterator, and dropping an iterator whose
    reader threads are inside Python (a folder's image decoding) can
    deadlock TensorFlow."""
    import tensorflow as tf  # tf.data feeds every backend, as in training

    iterator = iter(training_dataset(open_source(config), config, log=lambda message: None))
    batches = tf.stack([next(iterator) for _ in range(count)])
    del iterator
    return tf.data.Dataset.from_tensor_slices(batches).repeat()


def _timed_fit(model, data, untimed, timed):
    """Steps/s of `timed` steps after `untimed` ones, in one Keras fit."""
    timer = StepTimer(untimed)
    model.fit(data, steps_per_epoch=untimed + timed, epochs=1, verbose=0, shuffle=False,
              callbacks=[timer])
    return timer.rate()


class StepTimer(keras.callbacks.Callback):
    """Steps/s of one epoch from the start of step `untimed` (counting from
    0) to the epoch's end, where Keras waits for the last step's logs."""

    def __init__(self, untimed):
        super().__init__()
        self.untimed, self.began, self.steps = untimed, None, 0

    def on_train_batch_begin(self, batch, logs=None):
        if batch == self.untimed:
            self.began = time.perf_counter()
        self.steps = batch + 1 - self.untimed

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.began

    def rate(self):
        return self.steps / max(self.seconds, 1e-9)
