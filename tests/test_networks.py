import textwrap

import keras
import numpy as np
import pytest

from ogan_tf.config import ENCODER_NORMS
from ogan_tf.errors import ConfigError
from ogan_tf.model.networks import VARIANTS, build_encoder, build_generator

from conftest import tiny_networks

# make test-all runs these on JAX too; make test, those marked plain jax.
pytestmark = pytest.mark.jax(slow=True)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("resolution", [32, 64])
def test_shapes_and_ranges(variant, resolution):
    z_dim = 16
    G = build_generator(resolution, z_dim, variant)
    E = build_encoder(resolution, z_dim, variant)
    z = np.random.default_rng(0).normal(size=(3, z_dim)).astype(np.float32) * 30
    x = np.asarray(G(z, training=False))
    assert x.shape == (3, resolution, resolution, 3)
    assert x.min() >= -1 and x.max() <= 1  # tanh
    codes = np.asarray(E(x, training=False))
    assert codes.shape == (3, z_dim) and np.all(np.isfinite(codes))


@pytest.mark.jax
def test_author_geometry_at_64px():
    """num_layers = log2(64) - 3 = 3, widest = 64 * 8 = 512, first map 4x4."""
    E = build_encoder(64, 128, "dcgan_5x5")
    convs = [layer for layer in E.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [64, 128, 256, 512]
    assert all(c.kernel_size == (5, 5) and c.strides == (2, 2) for c in convs)
    bns = [layer for layer in E.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 3  # all but the first conv
    G = build_generator(64, 128, "dcgan_5x5")
    assert G.get_layer("reshape").output.shape[1:] == (4, 4, 512)
    deconvs = [layer for layer in G.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert [d.filters for d in deconvs] == [256, 128, 64, 3]


@pytest.mark.jax
def test_self_modulated_generator_conditions_every_bn_on_z():
    G = build_generator(32, 16, "sm_4x4")
    bns = [layer for layer in G.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == 3 and not any(b.center or b.scale for b in bns)
    deconvs = [layer for layer in G.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert all(d.kernel_size == (4, 4) for d in deconvs)
    # At initialisation gamma(z) + 1 = 1 + small: the "+1" lives in the bias.
    assert np.allclose(G.get_layer("bn0_gamma").bias.numpy(), 1.0)


@pytest.mark.jax
@pytest.mark.parametrize("norm", ENCODER_NORMS)
def test_encoder_norms(norm):
    """batch: the author's BN after every conv but the first; none: no
    normalisation; layer: GroupNormalization(1) there; spectral: every
    kernel of E spectrally normalised, no activation normalisation."""
    E = build_encoder(32, 8, "sm_4x4", 16, norm=norm)
    kinds = {type(layer).__name__ for layer in E.layers}
    norms = {"BatchNormalization", "GroupNormalization", "SpectralNormalization"} & kinds
    assert norms == {"batch": {"BatchNormalization"}, "none": set(),
                     "layer": {"GroupNormalization"},
                     "spectral": {"SpectralNormalization"}}[norm]
    if norm == "spectral":
        wrapped = [la.layer for la in E.layers if type(la).__name__ == "SpectralNormalization"]
        assert [type(la).__name__ for la in wrapped] == ["Conv2D"] * 3 + ["Dense"]
    x = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype(np.float32)
    codes = np.asarray(E(x, training=True))
    assert codes.shape == (4, 8) and np.all(np.isfinite(codes))
    with pytest.raises(ConfigError, match="unknown norm"):
        build_encoder(32, 8, "sm_4x4", 16, norm="instance")


@pytest.mark.parametrize(
    "resolution,z_dim,message",
    [(48, 16, "power of two"), (16, 16, "power of two"), (32, 2, "z_dim 2")],
)
@pytest.mark.jax
def test_bad_geometry_is_a_clear_error(resolution, z_dim, message):
    with pytest.raises(ConfigError, match=message):
        build_generator(resolution, z_dim)


@pytest.mark.trains
@pytest.mark.parametrize("variant, norm", [*((v, "batch") for v in sorted(VARIANTS)),
                                           *(("sm_4x4", n) for n in ENCODER_NORMS[1:])])
def test_keras_file_loads_in_fresh_process_with_plain_keras(tmp_path, fresh_keras, variant,
                                                            norm):
    G, E = tiny_networks(variant, encoder_norm=norm)
    z = np.random.default_rng(1).normal(size=(4, 8)).astype(np.float32)
    x = np.asarray(G(z, training=False))
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "g.npy", x)
    np.save(tmp_path / "e.npy", np.asarray(E(x, training=False)))
    G.save(tmp_path / "g.keras")
    E.save(tmp_path / "e.keras")
    script = textwrap.dedent(
        f"""
        import sys, numpy as np, keras
        d = {str(tmp_path)!r}
        G = keras.models.load_model(d + "/g.keras", safe_mode=True)
        E = keras.models.load_model(d + "/e.keras", safe_mode=True)
        g = np.asarray(G(np.load(d + "/z.npy"), training=False))
        e = np.asarray(E(np.load(d + "/x.npy"), training=False))
        assert np.array_equal(g, np.load(d + "/g.npy")), abs(g - np.load(d + "/g.npy")).max()
        assert np.array_equal(e, np.load(d + "/e.npy")), abs(e - np.load(d + "/e.npy")).max()
        assert "ogan_tf" not in sys.modules
        print("ok")
        """
    )
    out = fresh_keras.run(script)
    assert out.ok, out.error[-2000:]
    assert out.out.strip().endswith("ok")
