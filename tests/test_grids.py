import numpy as np
import pytest

from ogan_tf import api
from ogan_tf.data import images
from ogan_tf.errors import OganError
from ogan_tf.inference import codes as code_tools
from ogan_tf.inference import grids, outputs
from ogan_tf.inference import model_calls as inference

from conftest import tiny_networks


def test_tile_is_row_major():
    images = np.arange(6)[:, None, None, None] * np.ones((6, 2, 3, 1))
    tiled = grids.tile(images, 2, 3)
    assert tiled.shape == (4, 9, 1)
    assert tiled[0, 0, 0] == 0 and tiled[0, 3, 0] == 1 and tiled[2, 0, 0] == 3


def test_uint8_round_trip():
    u = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    assert np.array_equal(images.to_uint8(images.to_float(u)), u)


def uint8_images(n, seed):
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3)).astype(np.uint8)


@pytest.fixture(scope="module")
def nets():
    return tiny_networks()


def test_grid_pixel_sizes(nets):
    G, E = nets
    real = uint8_images(48, seed=0)
    z = np.random.default_rng(1).normal(size=(81, 8)).astype(np.float32)
    assert grids.random_grid(G, z).shape == (9 * 32, 9 * 32, 3)
    recon = grids.reconstruction_grid(G, E, real[:32], 0.9)
    assert recon.shape == (8 * 32, 8 * 32, 3) and recon.dtype == np.uint8
    # even columns are the real images themselves
    assert np.array_equal(recon[:32, :32], real[0])
    assert np.array_equal(recon[:32, 64:96], real[1])
    interp = grids.interpolation_grid(G, E, real[32:40], real[40:48], 0.9, steps=10)
    assert interp.shape == (8 * 32, 12 * 32, 3)
    assert np.array_equal(interp[:32, :32], real[32])
    assert np.array_equal(interp[:32, -32:], real[40])


def test_interpolation_ends_are_the_reconstructions(nets):
    G, E = nets
    real = uint8_images(2, seed=2)
    strip = grids.interpolation_grid(G, E, real[:1], real[1:], 0.9, steps=8)
    recon = images.to_uint8(G.predict_on_batch(0.9 * inference.encode(E, real)))
    assert np.abs(strip[:, 32:64].astype(int) - recon[0]).max() <= 1
    assert np.abs(strip[:, -64:-32].astype(int) - recon[1]).max() <= 1


def test_mixes_run_from_a_to_b_for_one_code_or_rows():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2, 3, 8)).astype(np.float32)
    mixed = code_tools.mixes(a, b, 5)
    assert mixed.shape == (3, 5, 8) and mixed.dtype == np.float32
    assert np.allclose(mixed[:, 0], a) and np.allclose(mixed[:, -1], b)
    assert np.allclose(mixed[:, 2], (a + b) / 2, atol=1e-6)
    assert np.allclose(code_tools.mixes(a[1], b[1], 5), mixed[1])


def test_checked_codes_take_one_code_or_rows_and_name_what_is_wrong():
    assert code_tools.checked_codes(np.zeros(8), 8).shape == (1, 8)
    assert code_tools.checked_codes([0.0] * 8, 8, "the code", one=True).shape == (8,)
    for value, one, message in [
        (np.zeros((2, 8)), True, r"the code has shape \(2, 8\); this model's codes are \(8,\)"),
        ([np.nan] * 8, True, "the code holds NaN or infinite values"),
        ({"a": 1}, True, "the code is not a list of numbers"),
    ]:
        with pytest.raises(OganError, match=message):
            code_tools.checked_codes(value, 8, "the code", one=one)
    with pytest.raises(OganError, match=r"codes have shape \(0, 8\); this model's codes are "
                                         r"\(n, 8\)"):
        code_tools.checked_codes(np.zeros((0, 8)), 8)


def test_the_api_and_the_grids_interpolate_and_pair_alike(nets):
    G, E = nets
    real = uint8_images(4, seed=5)
    model = api.OganModel(E, G, 0.9, {}, log=lambda m: None)
    strip = grids.interpolation_grid(G, E, real[:1], real[1:2], 0.9, steps=6)
    mixes = model.interpolate(real[0], real[1], steps=6)
    assert np.array_equal(strip[:, 32:-32], grids.tile(mixes, 1, 6))
    recon = model.reconstruct(real)
    assert np.array_equal(recon, inference.reconstruct(G, E, real, 0.9))
    paired = grids.reconstruction_grid(G, E, real, 0.9, rows=2)
    assert np.array_equal(outputs.pairs_grid(real, recon, per_row=2), paired)


def test_a_fixed_batch_gives_what_a_direct_call_gives(nets):
    import threading

    G, E = nets
    real = uint8_images(5, seed=6)
    encoder = inference.FixedBatch(E, 2, threading.Lock())
    generator = inference.FixedBatch(G, 4, threading.Lock())
    codes = inference.encode(encoder, real)
    assert codes.shape == (5, 8)
    assert np.allclose(codes, inference.encode(E, real), atol=1e-4)
    decoded = inference.decode(generator, codes).astype(int)
    assert np.abs(decoded - inference.decode(G, codes)).max() <= 1


def test_encode_gives_unit_statistics(nets):
    _, E = nets
    codes = inference.encode(E, uint8_images(5, seed=3))
    assert np.allclose(codes.mean(1), 0, atol=1e-5) and np.allclose(codes.std(1), 1, atol=1e-4)


class CountingModel:
    """Delegates calls to a model and counts them."""

    def __init__(self, model):
        self.model, self.calls = model, 0

    def __call__(self, x, training=False):
        self.calls += 1
        return self.model(x, training=training)


def test_all_three_grids_take_five_batched_model_calls(nets, tmp_path):
    from ogan_tf.inference.grids import SampleGrids

    G, E = (CountingModel(m) for m in nets)
    real = uint8_images(48, seed=4)
    z = np.random.default_rng(5).normal(size=(81, 8)).astype(np.float32)
    paths = SampleGrids(tmp_path, z, real, 0.9).write(G, E, step=7)
    assert [p.name for p in paths] == ["random_step0000007.png", "reconstruction_step0000007.png",
                                       "interpolation_step0000007.png"]
    assert (G.calls, E.calls) == (3, 2)  # one per grid, never one per image
