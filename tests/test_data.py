import numpy as np
import pytest

from ogan_tf.config import load_preset
from ogan_tf.data import shapes, sources
from ogan_tf.errors import ConfigError

from conftest import training_batches


def test_shapes_are_deterministic_uint8_images():
    a, fa = shapes.make_shapes(50, 32, seed=4)
    b, fb = shapes.make_shapes(50, 32, seed=4)
    c, _ = shapes.make_shapes(50, 32, seed=5)
    assert a.shape == (50, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert all(np.array_equal(fa[k], fb[k]) for k in fa)


def test_each_factor_changes_the_image():
    base = {k: v[:1] for k, v in shapes.shape_factors(1, seed=0).items()}
    reference = shapes.render_shapes(base, 32)
    changes = {"shape": (base["shape"] + 1) % 4, "hue": (base["hue"] + 0.5) % 1,
               "x": base["x"] + 0.1, "y": base["y"] - 0.1, "size": base["size"] * 0.6,
               "bg_hue": (base["bg_hue"] + 0.5) % 1, "bg_value": base["bg_value"] + 0.2}
    for name, value in changes.items():
        changed = shapes.render_shapes({**base, name: value}, 32)
        assert np.abs(changed.astype(int) - reference).max() > 20, name


def test_shape_covers_a_sensible_part_of_the_image():
    images, factors = shapes.make_shapes(200, 32, seed=1)
    bg = shapes._hsv_to_rgb(factors["bg_hue"], np.full(200, 0.5), factors["bg_value"]) * 255
    differs = np.abs(images - bg[:, None, None]).max(-1) > 10
    coverage = differs.mean(axis=(1, 2))
    assert coverage.min() > 0.02 and coverage.max() < 0.5
    # the border row/column stays background: shapes never leave the frame
    assert not differs[:, 0].any() and not differs[:, -1].any()
    assert not differs[:, :, 0].any() and not differs[:, :, -1].any()


def test_training_dataset_batches_and_range():
    config = load_preset("shapes", dataset_size=64, batch_size=16)
    x = next(iter(training_batches(config))).numpy()
    assert x.shape == (16, 32, 32, 3) and x.dtype == np.float32
    assert -1.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.5


def test_heldout_images_are_not_training_images():
    config = load_preset("shapes", dataset_size=2000)
    train = shapes.make_shapes(2000, config.resolution, config.seed)[0].reshape(2000, -1)
    held = sources.open_source(config).heldout(48).reshape(48, -1)
    assert held.shape[0] == 48
    assert not any((train == h).all(axis=1).any() for h in held)


def test_unknown_dataset_is_a_clear_error():
    # Config itself refuses it: before any data is opened
    with pytest.raises(ConfigError, match="unknown dataset 'nope'"):
        sources.open_source(load_preset("shapes").replace(dataset="nope"))
