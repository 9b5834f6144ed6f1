"""DiffAugment (model/augment.py): the transforms by hand, their gradients, the step."""

import keras
import numpy as np
import pytest
from keras import ops

from ogan_tf.config import load_preset
from ogan_tf.errors import ConfigError
from ogan_tf.model import augment

from conftest import tiny_config

# On JAX: the transforms by hand in make test (marked jax), the rest in make
# test-all only (conftest.mark_slow_on).
pytestmark = pytest.mark.jax(slow=True)


@pytest.mark.jax
def test_translate_shifts_rows_and_columns_with_zeros_shifted_in():
    image = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    out = ops.convert_to_numpy(augment.translate(image, np.array([1]), np.array([-2])))[0, :, :, 0]
    # down by one row (row 0 becomes zeros), left by two columns (the last two zeros)
    np.testing.assert_array_equal(out, [[0, 0, 0, 0], [2, 3, 0, 0], [6, 7, 0, 0], [10, 11, 0, 0]])
    same = augment.translate(image, np.array([0]), np.array([0]))
    np.testing.assert_array_equal(ops.convert_to_numpy(same), image)


@pytest.mark.jax
def test_cutout_mask_is_one_clipped_square_per_image():
    mask = ops.convert_to_numpy(augment.cutout_mask(
        np.array([1, -1]), np.array([0, 3]), 2, 4, 5, "float32"))[..., 0]
    assert mask.shape == (2, 4, 5)
    expected0 = np.ones((4, 5))
    expected0[1:3, 0:2] = 0
    expected1 = np.ones((4, 5))
    expected1[0:1, 3:5] = 0  # rows -1..0 clipped to row 0
    np.testing.assert_array_equal(mask, [expected0, expected1])


@pytest.mark.jax
def test_random_transforms_draw_per_image_and_stay_in_limits():
    seed = keras.random.SeedGenerator(3)
    images = np.ones((64, 32, 32, 3), np.float32)
    shifted = ops.convert_to_numpy(augment.random_translation(images, seed))
    zero_rows = (shifted[:, :, 16, 0] == 0).sum(1)  # rows shifted in, per image
    assert zero_rows.max() <= 4 and len(set(zero_rows)) > 2  # up to 32 / 8, varied
    cut = ops.convert_to_numpy(augment.random_cutout(images, seed))
    holes = (cut[..., 0] == 0).sum((1, 2))
    assert holes.max() == 16 * 16 and holes.min() >= 8 * 8 and len(set(holes)) > 1


@pytest.mark.jax
def test_gradients_flow_through_the_transforms():
    # G's gradient reaches it through T (DiffAugment's point): d sum(T(x)) / dx
    # is 1 where a pixel lands inside the image after T, 0 where it is cut or
    # shifted out.
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 1)).astype(np.float32)
    shift = lambda v: ops.sum(augment.translate(v, np.array([1, 0]), np.array([0, 2])))  # noqa
    grad = ops.convert_to_numpy(gradient(shift, x))[..., 0]
    assert grad[0, :7].min() == 1 and grad[0, 7].max() == 0  # the last row left the image
    assert grad[1, :, :6].min() == 1 and grad[1, :, 6:].max() == 0


def gradient(fn, x):
    if keras.backend.backend() == "jax":
        import jax

        return jax.grad(fn)(x)
    import tensorflow as tf

    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return tape.gradient(y, x)


def test_augment_setting_names_transforms_and_author_presets_have_none():
    assert augment.parse("none") == () and augment.parse("translation,cutout") == (
        "translation", "cutout")
    assert augment.AUGMENTS == {"translation": augment.random_translation,
                                "cutout": augment.random_cutout}
    for preset in ("shapes_author", "folder_author", "lsun_church", "celeba_hq_256", "ffhq"):
        assert load_preset(preset).augment == "none"
        assert load_preset(preset).ema_rampup == 0.0
    with pytest.raises(ConfigError, match="translation, cutout"):
        tiny_config(augment="colour")


def test_a_ratio_after_the_name_sets_the_transform_strength():
    seed = keras.random.SeedGenerator(5)
    images = np.ones((64, 32, 32, 1), np.float32)
    entries = augment.parse(tiny_config(augment="translation:0.0625").augment)
    shifted = ops.convert_to_numpy(augment.augment(images, entries, seed))
    zero_rows = (shifted[:, :, 16, 0] == 0).sum(1)
    assert zero_rows.max() == 2  # 32 / 16, not DiffAugment's 4
    cut = ops.convert_to_numpy(augment.augment(images, ("cutout:0.25",), seed))
    assert (cut[..., 0] == 0).sum((1, 2)).max() == 8 * 8
    for bad in ("translation:2", "translation:", "cutout:half"):
        with pytest.raises(ConfigError, match="translation:0.0625"):
            tiny_config(augment=bad)


@pytest.mark.jax
def test_with_p_below_one_some_images_pass_unchanged():
    seed = keras.random.SeedGenerator(7)
    images = np.ones((256, 32, 32, 1), np.float32)
    out = ops.convert_to_numpy(augment.augment(images, ("cutout",), seed, p=0.25))
    cut = (out[..., 0] == 0).any((1, 2))
    assert 0.1 < cut.mean() < 0.4  # about a quarter cut, the rest as they were
    np.testing.assert_array_equal(out[~cut], images[~cut])
    assert tiny_config(augment_p=0.5).augment_p == 0.5
    with pytest.raises(ConfigError, match="augment_p"):
        tiny_config(augment_p=0)


@pytest.mark.parametrize("fused", [False, True])
def test_augmented_training_steps_move_and_stay_finite(fused):
    from ogan_tf.training.train import build_model

    p = 0.5 if fused else 1.0  # ADA's p in one of the two
    config = tiny_config(augment="translation:0.0625,cutout", fused_step=fused, augment_p=p)
    model = build_model(config)
    assert model.augment == ("translation:0.0625", "cutout") and model.augment_p == p
    x = np.random.default_rng(0).uniform(-1, 1, (8, 32, 32, 3)).astype(np.float32)
    before = [ops.convert_to_numpy(w) for w in model.encoder.trainable_weights]
    logs = model.fit(x, epochs=1, batch_size=8, steps_per_epoch=1, verbose=0).history
    assert np.isfinite(logs["loss"][-1]) and np.isfinite(logs["z_corr"][-1])
    after = [ops.convert_to_numpy(w) for w in model.encoder.trainable_weights]
    assert any(not np.allclose(a, b) for a, b in zip(before, after))


def test_a_resumed_run_trains_with_its_configs_augmentation(tmp_path):
    """Config.augment and augment_p may change when a run resumes: the
    checkpoint's model takes the run's (training/building.py)."""
    from ogan_tf.training.building import build_model, load_for_run

    build_model(tiny_config(augment="cutout")).save(tmp_path / "c.keras")
    config = tiny_config(augment="translation", augment_p=0.5, fused_step=True)
    model = load_for_run(tmp_path / "c.keras", config)
    assert (model.augment, model.augment_p, model.fused_step) == (("translation",), 0.5, True)
