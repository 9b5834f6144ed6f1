"""The author's RMSprop (Keras 2.2.4's update) against its formula by hand."""

import keras
import numpy as np
import pytest

from ogan_tf.model.optimizer import AuthorRMSprop, make_optimizer

# Backend numerics: make test runs these on TF and on JAX.
pytestmark = pytest.mark.jax

LR, RHO, EPS = 1e-2, 0.9, 1e-7


def by_hand(p, grads, keras3=False):
    """Keras 2.2.4: v = rho v + (1-rho) g^2; p -= lr g / (sqrt(v) + eps).
    keras3: p -= lr g / sqrt(v + eps)."""
    p, v = p.astype(np.float64), np.zeros_like(p, np.float64)
    for g in grads:
        v = RHO * v + (1 - RHO) * g.astype(np.float64) ** 2
        p = p - LR * g / (np.sqrt(v + EPS) if keras3 else np.sqrt(v) + EPS)
    return p


def grads_and_start():
    rng = np.random.default_rng(0)
    p0 = rng.normal(size=(3, 4)).astype(np.float32)
    # tiny gradients, where the two updates differ most (|g| ~ sqrt(eps))
    grads = [(rng.normal(size=(3, 4)) * 10.0 ** rng.uniform(-6, -1, (3, 4))).astype(np.float32)
             for _ in range(5)]
    return p0, grads


def apply(optimizer, p0, grads):
    variable = keras.Variable(p0)
    optimizer.build([variable])
    for g in grads:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g), variable)])
    return np.asarray(keras.ops.convert_to_numpy(variable), np.float64)


@pytest.mark.parametrize("update", ["author", "keras3"])
def test_rmsprop_updates_follow_their_formula(update):
    p0, grads = grads_and_start()
    got = apply(make_optimizer(LR, RHO, update=update), p0, grads)
    want = by_hand(p0, grads, keras3=update == "keras3")
    other = by_hand(p0, grads, keras3=update != "keras3")
    assert np.allclose(got, want, rtol=0, atol=1e-6)
    assert np.abs(other - want).max() > 1e-4  # the test tells the two apart


def test_mixed_float16_wraps_the_authors_rmsprop_in_loss_scaling():
    optimizer = make_optimizer(LR, RHO, precision="mixed_float16")
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(optimizer.inner_optimizer, AuthorRMSprop)


def test_authors_rmsprop_survives_a_checkpoint_and_steps_on_alike(tmp_path):
    """Saved with a model (its slots too), loaded back as AuthorRMSprop, the
    next step matches the formula over all the steps."""
    p0, grads = grads_and_start()
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3, use_bias=False)(inputs))
    model.compile(optimizer=make_optimizer(LR, RHO))
    kernel = model.trainable_variables[0]
    kernel.assign(p0.T)
    model.optimizer.build(model.trainable_variables)
    for g in grads[:4]:
        model.optimizer.apply_gradients([(keras.ops.convert_to_tensor(g.T), kernel)])
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is AuthorRMSprop
    assert int(keras.ops.convert_to_numpy(loaded.optimizer.iterations)) == 4
    kernel = loaded.trainable_variables[0]
    loaded.optimizer.apply_gradients([(keras.ops.convert_to_tensor(grads[4].T), kernel)])
    got = keras.ops.convert_to_numpy(kernel).T
    assert np.allclose(got, by_hand(p0, grads), rtol=0, atol=1e-6)
