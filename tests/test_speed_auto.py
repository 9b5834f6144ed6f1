"""`auto` speed settings (training/speed.py): measured on this machine, the
fastest kept, said in one line, recorded in the run's config, cached per
machine and model shape; explicit on/off, short runs and distributed runs
are never measured."""

import json

import keras
import pytest

from ogan_tf.runs.folder import RunDir
from ogan_tf.training import distribute, speed
from ogan_tf.training import train as training

from conftest import TINY_SETTINGS, tiny_config

on_tf = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                           reason="XLA is a choice on TensorFlow only")
LONG = speed.MEASURE_MIN_STEPS


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(speed.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / "speed.json"


def fake_measure(rates, calls):
    def measure(config, choices):
        calls.append([speed.label(c) for c in choices])
        return {speed.label(c): rates[speed.label(c)] for c in choices}
    return measure


@on_tf
def test_auto_measures_each_candidate_keeps_the_fastest_and_caches_it(cache):
    config = tiny_config(jit_compile="auto", fused_step="auto", steps=LONG)
    rates = {"XLA on, fused step on": 9.0, "XLA on, fused step off": 5.0,
             "XLA off, fused step on": 11.0, "XLA off, fused step off": 6.0}
    calls, lines = [], []
    place = distribute.place(config)
    chosen = speed.resolve(config, place, lines.append, fake_measure(rates, calls))
    assert (chosen.jit_compile, chosen.fused_step) == (False, True)
    assert len(calls) == 1 and sorted(calls[0]) == sorted(rates)
    assert lines == ["speed: XLA off, fused step on (steps/s: XLA off, fused step on 11.00; "
                     "XLA on, fused step on 9.00; XLA off, fused step off 6.00; XLA on, fused "
                     "step off 5.00; measured in 0 s, cached; pass --jit-compile or "
                     "--fused-step on/off to choose)"]
    assert list(json.loads(cache.read_text()).values()) == [rates]
    # The next run of this shape on this machine reuses the figures, also a short one.
    again = speed.resolve(config.replace(steps=10), place, lines.append,
                          fake_measure(rates, calls))
    assert (again.jit_compile, again.fused_step) == (False, True) and len(calls) == 1
    assert "cached for this machine" in lines[-1]
    # Another model shape is another entry.
    speed.resolve(config.replace(resolution=64), place, lines.append, fake_measure(rates, calls))
    assert len(calls) == 2 and len(json.loads(cache.read_text())) == 2


def test_explicit_short_and_distributed_runs_are_not_measured():
    calls = []
    measure = fake_measure({}, calls)
    explicit = tiny_config(jit_compile=False, fused_step=True, steps=LONG)
    assert speed.resolve(explicit, distribute.place(explicit), measure=measure) is explicit
    short = tiny_config(jit_compile="auto", fused_step="auto", steps=LONG - 1)
    assert speed.resolve(short, distribute.place(short), measure=measure) is short
    if keras.backend.backend() == "tensorflow":
        mirrored = tiny_config(jit_compile="auto", fused_step="auto", steps=LONG,
                               strategy="mirrored")
        assert speed.resolve(mirrored, distribute.place(mirrored), measure=measure) is mirrored
    assert calls == []


def test_an_unreadable_cache_is_measured_again(cache):
    cache.parent.mkdir(parents=True)
    cache.write_text("{not json")
    config = tiny_config(jit_compile=False, fused_step="auto", steps=LONG)
    calls = []
    chosen = speed.resolve(config, distribute.place(config), lambda m: None,
                           fake_measure({"fused step on": 1.0, "fused step off": 2.0}, calls))
    assert chosen.fused_step is False and len(calls) == 1
    assert len(json.loads(cache.read_text())) == 1


@pytest.mark.trains
def test_a_new_run_records_the_choice_in_its_config(dirs, monkeypatch):
    """The measured values, not `auto`, are in config.json: a resumed run keeps them."""
    runs, samples, _ = dirs
    monkeypatch.setattr(speed, "measure_steps", fake_measure(
        {"XLA on, fused step on": 1.0, "XLA on, fused step off": 2.0,
         "XLA off, fused step on": 3.0, "XLA off, fused step off": 4.0,
         "fused step on": 1.0, "fused step off": 2.0}, []))
    lines = []
    run = training.start_run(runs, samples, "r", "shapes",
                             dict(TINY_SETTINGS, fused_step="auto", steps=LONG),
                             log=lines.append)
    run.release()
    saved = RunDir(runs, "r").read_config()
    assert saved.fused_step is False and run.model.fused_step is False
    if keras.backend.backend() == "tensorflow":
        assert saved.jit_compile is False and run.model.jit_compile is False
    assert any(line.startswith("speed: ") for line in lines)


@pytest.mark.trains
def test_the_measurement_times_real_steps_of_each_choice():
    config = tiny_config(jit_compile=False, fused_step="auto", steps=LONG)
    rates = speed.measure_steps(config, speed.candidates(config))
    assert sorted(rates) == ["fused step off", "fused step on"]
    assert all(rate > 0 for rate in rates.values())
