"""Speed options compute the author's step: fused gradients, mixed precision,
saved files. (Speed itself is measured by benchmarks/, never asserted.)
The fused step runs on TensorFlow and JAX: its tests run on both backends."""

import json

import keras
import numpy as np
import pytest

from ogan_tf import cli
from ogan_tf.errors import ConfigError
from ogan_tf.model import losses, step
from ogan_tf.runs.folder import RunDir
from ogan_tf.runs.models import load_checkpoint, save_checkpoint
from ogan_tf.training import train as training

from conftest import TINY, TINY_SETTINGS, gradients, random_batch
from conftest import tiny_config as conftest_tiny_config

# make test-all runs these on JAX too; make test, those marked plain jax.
pytestmark = pytest.mark.jax(slow=True)

Z_DIM = TINY_SETTINGS["z_dim"]


def tiny_config(**changes):
    """The tiny model with the author's DCGAN networks unless `changes` say."""
    return conftest_tiny_config(**{"variant": "dcgan_5x5", **changes})


def batch(n=8, seed=0):
    return random_batch(n, Z_DIM, seed)


def reference_gradients(model, x, z):
    """The author's single loss over his three-E-pass graph, differentiated
    as one loss (conftest.gradients: a tape on TF, jax.vjp on JAX)."""
    def author_loss():
        out = step.author_graph(model, x, z, training=True)
        return {"loss": losses.ogan_qp_loss(**out)[0]}

    return author_loss()["loss"], gradients(author_loss, model.trainable_variables)["loss"]


def global_norm(grads):
    return float(np.sqrt(sum(np.sum(np.square(np.asarray(g))) for g in grads)))


# On JAX in make test: the preset's variant (make test-all: both).
@pytest.mark.parametrize("variant", [
    "dcgan_5x5", pytest.param("sm_4x4", marks=pytest.mark.jax)])
def test_fused_step_gives_the_author_loss_and_gradients(variant):
    model = training.build_model(tiny_config(variant=variant))
    x, z = batch()
    ref_loss, ref = reference_gradients(model, x, z)
    loss, _, fused = step.fused_gradients(model, x, z)
    assert float(loss) == pytest.approx(float(ref_loss), rel=1e-6, abs=1e-7)
    assert len(fused) == len(ref) and all(g is not None for g in fused)
    # Float round-off: each gradient within 1e-5 of the largest entry overall
    # (biases before a BN have a true gradient of 0 and only round-off in both).
    scale = max(float(np.max(np.abs(g))) for g in ref)
    worst = max(float(np.max(np.abs(a - np.asarray(b)))) for a, b in zip(ref, fused))
    assert worst < 1e-5 * scale, (worst, scale)
    # Not a trivial match: the E part is not zero.
    assert global_norm(fused[-2:]) > 0


@pytest.mark.trains
@pytest.mark.jax
def test_fused_fit_steps_equal_the_author_steps_including_bn_statistics():
    """Keras fit with fused_step: same weights, optimizer slots and BN moving
    statistics after 3 steps as the author's step (his 3 BN updates too).
    tf.data feeds both backends, as in a run."""
    import tensorflow as tf

    x, _ = batch(24, seed=1)
    x = np.asarray(x)
    data = tf.data.Dataset.from_tensor_slices(x).batch(8)
    models = {}
    for fused in (False, True):
        keras.utils.set_random_seed(0)
        # Keras 3's RMSprop: the author's update (lr g / (sqrt(v) + 1e-7))
        # turns the round-off gradient (~1e-9) of a bias before a BatchNorm,
        # whose true gradient is 0, into a step of order lr, so equal
        # gradients up to round-off would not give equal weights. The
        # gradients themselves are compared in the test above. The author's
        # learning rate: steps (and so their round-off) 10x smaller than
        # the shapes preset's 1e-3, within the tolerances below.
        model = training.build_model(tiny_config(fused_step=fused, rmsprop_update="keras3",
                                                 learning_rate=1e-4))
        history = model.fit(data, epochs=1, verbose=0, shuffle=False).history
        assert set(history) >= {"loss", "t1", "z_corr"}
        models[fused] = (model, history)
    (author, h_author), (fused, h_fused) = models[False], models[True]
    for key in ("loss", "t1", "z_corr"):
        assert h_fused[key][0] == pytest.approx(h_author[key][0], rel=1e-4, abs=1e-5)
    for a, b in zip(author.get_weights(), fused.get_weights()):  # incl. moving stats
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for a, b in zip(author.optimizer.variables, fused.optimizer.variables):  # RMSprop slots
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
    assert int(fused.optimizer.iterations) == 3


@pytest.mark.trains
@pytest.mark.jax
@pytest.mark.slow
def test_bf16_run_tracks_float32():
    """The tiny model of test_model's fit test, in float32 and in the fastest
    settings (mixed_bfloat16 + fused step): z_corr rises in both, alike."""
    import tensorflow as tf  # tf.data feeds both backends, as in a run

    x, _ = batch(256, seed=2)
    x = np.asarray(x)
    data = tf.data.Dataset.from_tensor_slices(x).repeat().batch(16, drop_remainder=True)
    z_corr = {}
    for precision, fused in (("float32", False), ("mixed_bfloat16", True)):
        keras.utils.set_random_seed(1)
        config = tiny_config(variant="sm_4x4", precision=precision, fused_step=fused,
                             learning_rate=1e-3)
        model = training.build_model(config)
        history = model.fit(data, steps_per_epoch=25, epochs=4, verbose=0, shuffle=False).history
        z_corr[precision] = history["z_corr"]
        assert model.generator.layers[-2].compute_dtype == precision.split("_")[-1]
        out = step.author_graph(model, x[:8], keras.random.normal((8, Z_DIM)), training=True)
        # the loss's inputs
        assert all(keras.backend.standardize_dtype(t.dtype) == "float32" for t in out.values())
    bf16, f32 = z_corr["mixed_bfloat16"], z_corr["float32"]
    assert bf16[-1] > bf16[0] + 0.1 and bf16[-1] > 0.5, bf16
    assert abs(bf16[-1] - f32[-1]) < 0.15, (bf16, f32)


LOAD_IN_FRESH_PROCESS = """
import json, sys, keras, numpy as np
out = {}
for name in sys.argv[2:]:
    model = keras.models.load_model(sys.argv[1] + f"/{name}.keras")
    x = np.load(sys.argv[1] + f"/{name}_in.npy")
    y = model.predict_on_batch(x)
    out[name] = [float(np.abs(y - np.load(sys.argv[1] + f"/{name}_out.npy")).max()),
                 str(y.dtype), model.layers[-2].dtype_policy.name]
print(json.dumps(out))
"""


@pytest.mark.trains
def test_mixed_precision_checkpoints_resume_and_g_e_load_with_plain_keras(tmp_path, fresh_keras):
    import tensorflow as tf

    x, z = batch()
    saved = []
    for precision in ("mixed_bfloat16", "mixed_float16"):
        config = tiny_config(precision=precision)
        model = training.build_model(config)
        model.fit(tf.data.Dataset.from_tensors(np.asarray(x)), epochs=1, verbose=0, shuffle=False)
        run = RunDir(tmp_path / "runs", precision)
        loaded = load_checkpoint(save_checkpoint(run, model, 1, keep=1), config)
        assert loaded.generator.layers[-2].dtype_policy.name == precision
        assert type(loaded.optimizer) is type(model.optimizer)
        for a, b in zip(model.get_weights(), loaded.get_weights()):
            np.testing.assert_array_equal(a, b)
        assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations)
        # G and E on their own, for plain keras in a fresh process.
        for net, inputs in ((loaded.generator, z), (loaded.encoder, x)):
            name = f"{precision}_{net.name}"
            net.save(tmp_path / f"{name}.keras")
            np.save(tmp_path / f"{name}_in.npy", np.asarray(inputs))
            out = net.predict_on_batch(inputs)
            assert out.dtype == np.float32  # the last layer computes in float32
            np.save(tmp_path / f"{name}_out.npy", out)
            saved.append((name, precision))
    proc = fresh_keras.run(LOAD_IN_FRESH_PROCESS, tmp_path, *(n for n, _ in saved))
    assert proc.ok, proc.error[-2000:]
    result = json.loads(proc.out.strip().splitlines()[-1])
    assert result == {name: [0.0, "float32", precision] for name, precision in saved}


@pytest.mark.slow  # a CLI run (test_config parses the flags)
@pytest.mark.trains
def test_speed_flags_reach_the_run_config(dirs):
    runs, _, dir_args = dirs
    args = ["train", *TINY, "--steps", "2", "--log-every", "1", "--sample-every", "2",
            "--checkpoint-every", "2", "--run", "s", *dir_args,
            "--precision", "mixed_bfloat16", "--fused-step", "--jit-compile", "off",
            "--export-at-end", "none"]
    assert cli.main(args) == 0
    saved = json.loads((runs / "s" / "config.json").read_text())
    assert (saved["precision"], saved["fused_step"], saved["jit_compile"]) == (
        "mixed_bfloat16", True, False)
    assert [r["step"] for r in RunDir(runs, "s").read_metrics()] == [1, 2]


@pytest.mark.jax
def test_speed_settings_reach_the_model(dirs):
    runs, samples, _ = dirs
    overrides = dict(TINY_SETTINGS, fused_step=True, jit_compile=False)
    run = training.start_run(runs, samples, "j", "shapes", overrides)
    assert run.model.fused_step is True and run.model.jit_compile is False
    # Off where the config says off, though "auto" would turn it on here.
    assert training.build_model(tiny_config(fused_step=False)).fused_step is False
    auto = training.build_model(tiny_config(fused_step="auto", jit_compile="auto"))
    assert auto.fused_step is True  # both backends of this suite have the fused step
    if keras.backend.backend() == "tensorflow":  # on JAX, Keras always compiles
        import tensorflow as tf

        if not tf.config.list_physical_devices("GPU"):
            assert auto.jit_compile is False  # "auto": no XLA on a CPU


@pytest.mark.parametrize("changes, fragment", [
    ({"precision": "float16"}, "unknown precision"),
    ({"fused_step": "yes"}, "fused_step must be"),
    ({"jit_compile": "maybe"}, "jit_compile must be"),
])
def test_bad_speed_settings_are_config_errors(changes, fragment):
    with pytest.raises(ConfigError, match=fragment):
        tiny_config(**changes)


def test_run_callbacks_leave_keras_batch_end_alone():
    """A callback overriding on_train_batch_end makes Keras convert each step's
    logs to numbers (a device sync per step); ours hook batch begins instead."""
    from ogan_tf.training.callbacks import LogProgress, StopAtStep
    from ogan_tf.training.step_end import StepEnd

    for cls in (StepEnd, LogProgress, StopAtStep):
        assert cls.on_train_batch_end is keras.callbacks.Callback.on_train_batch_end
        assert cls.on_batch_end is keras.callbacks.Callback.on_batch_end
