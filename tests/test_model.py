import keras
import numpy as np
import pytest
from keras import ops

from ogan_tf.model import losses, step
from ogan_tf.model.ogan import OGAN
from ogan_tf.model.optimizer import make_optimizer

from conftest import gradients, random_batch, tiny_networks

# make test-all runs these on JAX too; make test, those marked plain jax.
pytestmark = pytest.mark.jax(slow=True)

Z_DIM = 8


def tiny_ogan(variant="dcgan_5x5", rho_weight=0.5, seed=0):
    G, E = tiny_networks(variant)
    return OGAN(G, E, rho_weight=rho_weight, seed=seed)


def batch(n=8, seed=0):
    return random_batch(n, Z_DIM, seed)


def split_gradients(fn, model):
    """{name: (E's gradients, G's gradients)} of each scalar fn() returns."""
    e_vars = model.encoder.trainable_variables
    grads = gradients(fn, e_vars + model.generator.trainable_variables)
    return {name: (g[: len(e_vars)], g[len(e_vars):]) for name, g in grads.items()}


def _close(a, b, rtol=1e-4):
    scale = max(max(float(np.max(np.abs(t))) for t in b), 1e-12)
    return all(np.allclose(x, y, rtol=rtol, atol=rtol * scale) for x, y in zip(a, b))


def _norm(grads):
    return float(np.sqrt(sum(np.sum(np.square(g)) for g in grads)))


# On JAX in make test: the preset's variant (make test-all: both).
@pytest.mark.parametrize("variant", [
    "dcgan_5x5", pytest.param("sm_4x4", marks=pytest.mark.jax)])
def test_single_loss_routes_gradients_like_the_two_player_objectives(variant):
    """One loss, one gradient: E's part equals grad of E's objective, G's of G's."""
    model = tiny_ogan(variant, rho_weight=0.5)
    G, E = model.generator, model.encoder
    x, z = batch()

    def scalars():
        out = step.author_graph(model, x, z, training=True)
        loss, terms = losses.ogan_qp_loss(**out, rho_weight=0.5)
        # The article's two objectives, written out with no stop-gradient.
        x_fake = G(z, training=True)
        d_real = losses.avg(E(x, training=True))
        e_fake = E(x_fake, training=True)
        d_fake = losses.avg(e_fake)
        rho = losses.correlation(z, e_fake)
        r = ops.square(d_real - d_fake) / ops.mean(ops.square(x - x_fake), axis=(1, 2, 3))
        return {
            "loss": loss,
            "e_objective": ops.mean(d_real - d_fake) + 0.25 * ops.mean(r) - 0.5 * ops.mean(rho),
            "g_objective": ops.mean(d_fake) - 0.5 * ops.mean(rho),
            **{k: ops.mean(terms[k]) for k in ("t1", "t2", "qp", "z_corr")},
        }

    grads = split_gradients(scalars, model)
    assert _close(grads["loss"][0], grads["e_objective"][0])
    assert _close(grads["loss"][1], grads["g_objective"][1])

    # Term by term: E gets nothing from t2, G nothing from t1 or qp, both get rho.
    assert _norm(grads["t2"][0]) < 1e-6 * _norm(grads["t1"][0])
    assert _norm(grads["t1"][1]) == 0
    assert _norm(grads["qp"][1]) == 0
    assert _norm(grads["t2"][1]) > 0
    assert _norm(grads["z_corr"][0]) > 0
    assert _norm(grads["z_corr"][1]) > 0


@pytest.mark.jax
def test_call_draws_fresh_z_each_step_from_the_seed_generator():
    model = tiny_ogan()
    x, _ = batch()
    z1 = np.asarray(model(x)["z"])
    z2 = np.asarray(model(x)["z"])
    assert z1.shape == (8, Z_DIM) and not np.allclose(z1, z2)
    # Same seed, same draws: z is reproducible.
    again = tiny_ogan()
    assert np.allclose(np.asarray(again(x)["z"]), z1)


@pytest.mark.jax
def test_saved_model_keeps_the_z_seed_state(tmp_path):
    """A loaded checkpoint draws the z the saved model would draw next, not
    again the first z; files without the state start from the seed."""
    model = tiny_ogan()
    x, _ = batch()
    first = np.asarray(model(x)["z"])
    model.save(tmp_path / "m.keras")
    expected = np.asarray(model(x)["z"])
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert np.allclose(np.asarray(loaded(x)["z"]), expected)
    assert not np.allclose(expected, first)
    old_file = tiny_ogan()
    old_file.load_own_variables({})
    assert np.allclose(np.asarray(old_file(x)["z"]), first)


@pytest.mark.jax
def test_config_round_trip_gives_identical_outputs():
    model = tiny_ogan("sm_4x4", rho_weight=0.7, seed=3)
    clone = OGAN.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    assert clone.rho_weight == 0.7 and clone.seed == 3 and clone.z_dim == Z_DIM
    x, z = batch()
    a = step.author_graph(model, x, z)
    b = step.author_graph(clone, x, z)
    for key in ("x_fake_ng", "z_real", "z_fake"):
        assert np.array_equal(np.asarray(a[key]), np.asarray(b[key]))


@pytest.mark.jax
def test_saved_model_keeps_its_augmentation_and_files_without_it_load_plain(tmp_path):
    """augment and augment_p change the algorithm: a loaded file has them.
    The step kind is a speed choice the run makes (training/building.py)."""
    G, E = tiny_networks()
    model = OGAN(G, E, seed=0, augment="translation:0.0625,cutout", augment_p=0.5,
                 fused_step=True)
    assert model.augment == ("translation:0.0625", "cutout") and model.fused_step is True
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert (loaded.augment, loaded.augment_p) == (("translation:0.0625", "cutout"), 0.5)
    assert loaded.fused_step is False
    plain = OGAN.from_config({k: v for k, v in model.get_config().items()
                              if k not in ("augment", "augment_p")})
    assert (plain.augment, plain.augment_p) == ((), 1.0)
    assert OGAN(*tiny_networks(), augment="none").augment == ()
    with pytest.raises(ValueError, match="augment"):
        OGAN(*tiny_networks(), augment=("colour",))


@pytest.mark.trains
@pytest.mark.slow  # 100 steps of fit
def test_fit_trains_and_z_corr_rises():
    """A few hundred images, ~100 steps of keras fit: the encoder term works."""
    keras.utils.set_random_seed(1)
    model = tiny_ogan("sm_4x4")
    model.compile(optimizer=make_optimizer(learning_rate=1e-3))
    x, _ = batch(256, seed=2)
    # Arrays, not tf.data: the same fit on either backend.
    x = np.concatenate([x, x])[:400]  # 25 steps of 16 per epoch
    history = model.fit(x, batch_size=16, epochs=4, verbose=0, shuffle=False).history
    assert set(history) >= {"loss", "t1", "z_corr"}
    z_corr = history["z_corr"]
    assert z_corr[-1] > z_corr[0] + 0.1, z_corr
    assert z_corr[-1] > 0.5, z_corr
    assert int(model.optimizer.iterations) == 100


def test_the_private_keras_internals_we_use_exist(monkeypatch):
    """model/keras_private.py: training's internals are all here on the Keras
    versions it names; where one is gone, require() says so in one line."""
    import keras

    from ogan_tf.errors import ConfigError
    from ogan_tf.model import keras_private

    assert keras_private.missing() == []
    assert keras.__version__ in keras_private.TRAINING_TESTED
    keras_private.require()
    monkeypatch.setattr(keras_private, "missing", lambda: ["_velocities"])
    tested = r"lacks \(_velocities\); it is tested on Keras 3\.14\.1 and 3\.15\.1"
    with pytest.raises(ConfigError, match=tested):
        keras_private.require()
