"""Weight EMAs: the debiased average, swapping, saving beside checkpoints, resume."""

import imageio.v3 as iio
import keras
import numpy as np
import pytest

from ogan_tf import cli
from ogan_tf.errors import CheckpointError, ConfigError
from ogan_tf.model.ema import WeightEMA, debiased_decay, rampup_decay, step_decay
from ogan_tf.runs import models as run_models
from ogan_tf.runs.folder import RunDir
from ogan_tf.runs.models import load_checkpoint
from ogan_tf.runs.names import ema_weight_paths
from ogan_tf.training import train as training

from conftest import TINY_SETTINGS

# make test-all runs these on JAX too; make test, those marked plain jax.
pytestmark = pytest.mark.jax(slow=True)

TINY_EMA = dict(TINY_SETTINGS, log_every=4,
                sample_every=4, checkpoint_every=4, keep_checkpoints=1,
                ema_decays=(0.5, 0.9), export_at_end="none")


@pytest.mark.jax
def test_average_is_zero_debiased_moving_average():
    # TensorFlow's assign_moving_average(zero_debias=True), as Keras 2.2.4's
    # K.moving_average_update the author used: sum (1-d) d^(t-i) w_i / (1-d^t).
    variable = keras.Variable(np.zeros(3, np.float32))
    ema = WeightEMA([variable], (0.9, 0.5))
    history = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    for step, value in enumerate(history, start=1):
        variable.assign(value)
        ema.update(step)
        for decay in ema.decays:
            weights = (1 - decay) * decay ** np.arange(step - 1, -1, -1)
            expected = weights @ history[:step] / (1 - decay**step)
            np.testing.assert_allclose(ema.values(decay)[0], expected, rtol=1e-5, atol=1e-6)
    assert debiased_decay(0.999, 1) == 0.0  # the first update copies the weights


def test_rampup_caps_the_half_life_at_a_fraction_of_the_steps():
    # StyleGAN2-ADA's ema_rampup: half-life <= r * step, i.e. d <= 0.5 ** (1 / (r t)).
    # By hand: r = 0.05 at step 300 is a half-life of 15 steps, 0.5 ** (1/15).
    assert rampup_decay(0.05, 300) == pytest.approx(0.954842, abs=1e-6)
    assert step_decay(0.999, 300, 0.05) == pytest.approx(0.954842, abs=1e-6)
    assert step_decay(0.999, 300) == pytest.approx(debiased_decay(0.999, 300))
    assert step_decay(0.999, 1, 0.05) == 0.0  # the first update still copies
    # From ln 2 / (r ln(1/d)) = 13,856 steps on, the plain debiased decay rules.
    assert step_decay(0.999, 13000, 0.05) == pytest.approx(0.5 ** (1 / 650))
    assert step_decay(0.999, 20000, 0.05) == pytest.approx(debiased_decay(0.999, 20000))
    # Weights walking 1, 2, ..., 300: the plain 0.999 average after 300 steps
    # is near the middle of the walk (mostly the start); the ramped one follows
    # the end, lagging by about one half-life / ln 2 = 21.6 steps.
    variable = keras.Variable(np.zeros(1, np.float32))
    plain, ramped = WeightEMA([variable], (0.999,)), WeightEMA([variable], (0.999,), 0.05)
    for step in range(1, 301):
        variable.assign([float(step)])
        plain.update(step)
        ramped.update(step)
    assert plain.values(0.999)[0][0] == pytest.approx(sum(
        (1 - 0.999) * 0.999 ** (300 - i) * i for i in range(1, 301)) / (1 - 0.999**300), rel=1e-4)
    assert plain.values(0.999)[0][0] < 160 and 270 < ramped.values(0.999)[0][0] < 285


@pytest.mark.jax
def test_swapped_in_restores_raw_weights():
    variable = keras.Variable(np.ones(2, np.float32))
    ema = WeightEMA([variable], (0.9,))
    ema.set_values(0.9, [np.full(2, 5.0, np.float32)])
    with ema.swapped_in(0.9):
        np.testing.assert_array_equal(variable.numpy(), [5.0, 5.0])
    np.testing.assert_array_equal(variable.numpy(), [1.0, 1.0])


@pytest.mark.slow  # trains, prunes and resumes a run with EMAs (~13 s): make test-all
@pytest.mark.trains
def test_ema_saved_beside_checkpoints_pruned_and_resumed(tmp_path):
    runs, samples = tmp_path / "runs", tmp_path / "samples"
    run = training.start_run(runs, samples, "e", "shapes", dict(TINY_EMA, steps=8))
    training.train(run, samples)
    run_dir = RunDir(runs, "e")
    latest = run_dir.latest_checkpoint()
    names = sorted(p.name for p in run_dir.checkpoints.iterdir())
    # Pruned together with their checkpoint; the newest one kept with both EMAs.
    assert names == ["ckpt-0000008.ema-0.5.weights.h5", "ckpt-0000008.ema-0.9.weights.h5",
                     "ckpt-0000008.keras"]
    assert list(ema_weight_paths(latest)) == [0.5, 0.9]
    in_memory = {d: run.ema.values(d) for d in run.ema.decays}

    resumed = training.start_run(runs, samples, "e", None, dict(steps=12))
    assert resumed.start_step == 8
    for decay in (0.5, 0.9):
        for a, b in zip(resumed.ema.values(decay), in_memory[decay]):
            np.testing.assert_array_equal(a, b)
    # The model itself resumed with the raw weights, not an average.
    for a, b in zip(resumed.model.generator.get_weights(), run.model.generator.get_weights()):
        np.testing.assert_array_equal(a, b)

    # load_run picks weights: auto = the first EMA, raw, or a decay.
    _, model, step = run_models.load_run(runs, "e", "auto")
    n = len(model.generator.weights)
    for a, b in zip(model.generator.get_weights(), in_memory[0.5][:n]):
        np.testing.assert_array_equal(a, b)
    _, model, _ = run_models.load_run(runs, "e", "0.9")
    for a, b in zip(model.generator.get_weights(), in_memory[0.9][:n]):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ConfigError, match="has: raw, 0.5, 0.9"):
        run_models.load_run(runs, "e", 0.99)

    ema_weight_paths(latest)[0.9].unlink()
    with pytest.raises(CheckpointError, match="no EMA weights for decay 0.9"):
        training.start_run(runs, samples, "e", None, dict(steps=12))


@pytest.mark.slow  # a run and two CLI loads for one flag: ~13 CPU s
@pytest.mark.trains
def test_samples_cli_weights_flag(tmp_path, capsys):
    runs, samples = tmp_path / "runs", tmp_path / "samples"
    training.train(training.start_run(runs, samples, "e", "shapes", dict(TINY_EMA, steps=4)),
                   samples)
    flags = ["--runs-dir", str(runs), "--samples-dir", str(samples), "--run", "e"]
    assert cli.main(["samples", *flags, "--weights", "raw"]) == 0
    assert cli.main(["samples", *flags, "--weights", "0.123"]) == 1
    assert "no weights '0.123'" in capsys.readouterr().err


@pytest.mark.trains
@pytest.mark.jax
@pytest.mark.slow  # two EMA runs, three loads: ~33 CPU s on TF, ~60 on JAX
def test_mid_epoch_checkpoints_grids_and_averages_are_that_steps(tmp_path):
    """A checkpoint, grid or EMA in the middle of a Keras epoch holds that
    step's weights (JAX's fit keeps them outside the variables mid-epoch):
    step 3 of a 6-step epoch equals the end of a run that stops at step 3."""
    settings = dict(TINY_EMA, log_every=6, sample_every=3, checkpoint_every=3,
                    keep_checkpoints=2)
    runs = {}
    for name, steps in (("long", 6), ("short", 3)):
        samples = tmp_path / name / "samples"
        run = training.start_run(tmp_path / name, samples, "e", "shapes",
                                 dict(settings, steps=steps))
        training.train(run, samples)
        runs[name] = (RunDir(tmp_path / name, "e"), samples / "e", run.config)
    assert runs["long"][0].checkpoint_steps() == [3, 6]

    loaded = {}  # (name, step) -> (model, its raw weights): each checkpoint loads once

    def saved(name, step, weights):
        run_dir, _, config = runs[name]
        path = run_dir.checkpoint_path(step)
        if (name, step) not in loaded:
            model = load_checkpoint(path, config)
            loaded[name, step] = model, model.get_weights()
        model, raw = loaded[name, step]
        model.set_weights(raw)
        if weights != "raw":
            model.load_weights(ema_weight_paths(path)[weights])
        return model.get_weights()

    for weights in ("raw", 0.5, 0.9):
        mid, end = saved("long", 3, weights), saved("short", 3, weights)
        for a, b in zip(mid, end):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        assert not all(np.allclose(a, b) for a, b in zip(mid, saved("long", 6, weights)))
    grid = "random_step0000003.png"
    diff = np.abs(iio.imread(runs["long"][1] / grid).astype(int)
                  - iio.imread(runs["short"][1] / grid).astype(int))
    assert diff.max() <= 1
