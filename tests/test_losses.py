import keras
import numpy as np
import pytest

from ogan_tf.model import losses

from conftest import gradients

# Backend numerics: make test runs these on TF and on JAX.
pytestmark = pytest.mark.jax


def np_(t):
    return np.asarray(t)


def test_avg_std_by_hand():
    v = np.array([[1.0, 2.0, 3.0, 6.0]], np.float32)
    assert np_(losses.avg(v)) == pytest.approx([3.0])
    # population std: sqrt((4 + 1 + 0 + 9) / 4)
    assert np_(losses.std(v)) == pytest.approx([np.sqrt(14 / 4)])


def test_standardize_has_zero_mean_unit_std():
    v = np.random.default_rng(0).normal(3.0, 5.0, (6, 17)).astype(np.float32)
    n = np_(losses.standardize(v))
    assert np.allclose(n.mean(axis=-1), 0, atol=1e-5)
    assert np.allclose(n.std(axis=-1), 1, atol=1e-5)
    assert np.allclose(n, (v - v.mean(-1, keepdims=True)) / v.std(-1, keepdims=True), atol=1e-5)


def test_standardize_constant_vector_is_zero_not_nan():
    n = np_(losses.standardize(np.full((2, 5), 7.0, np.float32)))
    assert np.all(n == 0)


def _rand(shape, seed):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def test_rho_matches_pearson():
    a, b = _rand((8, 32), 1), _rand((8, 32), 2)
    expected = [np.corrcoef(a[i], b[i])[0, 1] for i in range(8)]
    assert np.allclose(np_(losses.correlation(a, b)), expected, atol=1e-5)


def test_rho_is_cosine_of_standardized_vectors():
    a, b = _rand((8, 32), 3), _rand((8, 32), 4) + 0.3 * _rand((8, 32), 3)
    na, nb = np_(losses.standardize(a)), np_(losses.standardize(b))
    cos = (na * nb).sum(-1) / np.linalg.norm(na, axis=-1) / np.linalg.norm(nb, axis=-1)
    assert np.allclose(np_(losses.correlation(a, b)), cos, atol=1e-5)
    # ... and equally the mean product of the standardized vectors
    assert np.allclose(np_(losses.correlation(a, b)), (na * nb).mean(-1), atol=1e-5)


@pytest.mark.parametrize("scale,shift", [(3.0, 5.0), (0.01, -2.0), (250.0, 0.0)])
def test_rho_invariant_to_affine_maps_of_either_side(scale, shift):
    a, b = _rand((8, 16), 5), _rand((8, 16), 6) + _rand((8, 16), 5)
    rho = np_(losses.correlation(a, b))
    assert np.allclose(np_(losses.correlation(scale * a + shift, b)), rho, atol=1e-5)
    assert np.allclose(np_(losses.correlation(a, scale * b + shift)), rho, atol=1e-5)
    # a negative scale flips the sign
    assert np.allclose(np_(losses.correlation(-scale * a + shift, b)), -rho, atol=1e-5)


def test_rho_plus_minus_one():
    a = _rand((4, 10), 7)
    assert np.allclose(np_(losses.correlation(a, 2 * a + 1)), 1, atol=1e-6)
    assert np.allclose(np_(losses.correlation(a, -0.5 * a + 3)), -1, atol=1e-6)


def test_rho_finite_for_constant_vector_with_finite_gradient():
    a = _rand((3, 10), 8)
    c = keras.Variable(np.full((3, 10), 4.0, np.float32))
    assert np.all(np_(losses.correlation(a, c)) == 0)
    (grad,) = gradients(lambda: {"rho": keras.ops.sum(losses.correlation(a, c))}, [c])["rho"]
    assert np.all(np.isfinite(grad))


def test_ogan_qp_loss_by_hand():
    rng = np.random.default_rng(9)
    z = rng.normal(size=(4, 6)).astype(np.float32)
    z_real, z_fake = rng.normal(size=(2, 4, 6)).astype(np.float32)
    x_real, x_fake = rng.uniform(-1, 1, (2, 4, 3, 3, 3)).astype(np.float32)
    loss, terms = losses.ogan_qp_loss(z, x_real, x_fake, z_real, z_fake, z_fake, rho_weight=0.7)

    t1 = z_real.mean(1) - z_fake.mean(1)
    rho = np.array([np.corrcoef(z[i], z_fake[i])[0, 1] for i in range(4)])
    qp = 0.25 * t1**2 / ((x_real - x_fake) ** 2).mean(axis=(1, 2, 3))
    expected = np.mean(t1 + 0 - 0.7 * rho) + np.mean(qp)
    assert float(loss) == pytest.approx(expected, rel=1e-5)
    assert np.allclose(np_(terms["t1"]), t1, atol=1e-6)
    assert np.allclose(np_(terms["t2"]), 0, atol=1e-6)
    assert np.allclose(np_(terms["z_corr"]), rho, atol=1e-5)
