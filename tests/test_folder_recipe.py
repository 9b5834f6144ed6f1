"""The folder recipe (training/folder_recipe.py): settings chosen from a set of images."""

import numpy as np
from PIL import Image

from ogan_tf.config import load_preset
from ogan_tf.training import folder_recipe


def folder_of(tmp_path, n, side):
    folder = tmp_path / f"images_{side}"
    folder.mkdir()
    for i in range(n):
        Image.fromarray(np.full((side, side + 10, 3), 5 * i, np.uint8)).save(
            folder / f"{i:03d}.png")
    return folder


def test_resolution_is_the_largest_power_of_two_within_the_images():
    assert [folder_recipe.resolution_for(s) for s in (20, 28, 32, 63, 64, 100, 1024)] == \
        [32, 32, 32, 32, 64, 64, 128]
    assert folder_recipe.resolution_for(None) is None


def test_a_small_folder_of_64px_images_trains_at_64px_with_augmentation(tmp_path):
    folder = folder_of(tmp_path, 20, 64)  # 64 x 74: the short side counts
    config = load_preset("folder", data_path=str(folder))
    lines = []
    chosen = folder_recipe.choose(config, set(), lines.append)
    assert chosen.resolution == 64
    assert chosen.steps == folder_recipe.MIN_STEPS  # 16 training images: the floor
    assert chosen.augment == folder_recipe.AUGMENT
    assert len(lines) == 1 and "median short side is 64 px" in lines[0]
    assert "16 training images" in lines[0]


def test_the_command_line_and_other_presets_win(tmp_path):
    folder = folder_of(tmp_path, 20, 64)
    config = load_preset("folder", data_path=str(folder), resolution=32, steps=7,
                         augment="none")
    kept = folder_recipe.choose(config, {"resolution", "steps", "augment"}, print)
    assert (kept.resolution, kept.steps, kept.augment) == (32, 7, "none")
    author = load_preset("folder_author", data_path=str(folder))
    assert folder_recipe.choose(author, set(), print) == author  # the author's, untouched
    assert author.resolution == 128 and author.variant == "dcgan_5x5"


def test_steps_grow_with_the_set_up_to_the_presets():
    config = load_preset("folder")
    per = folder_recipe.STEPS_PER_IMAGE
    assert folder_recipe.steps_for(1000, config.steps) == max(folder_recipe.MIN_STEPS, per * 1000)
    assert folder_recipe.steps_for(10 ** 6, config.steps) == config.steps


def test_translation_shifts_by_about_one_pixel_of_the_images_detail(tmp_path):
    rng = np.random.default_rng(0)
    noise = lambda side: Image.fromarray(rng.integers(0, 256, (side, side), dtype=np.uint8))  # noqa
    kinds = {  # random pixels scaled up to 32 px: smooth 4 -> 8 (coarse), 8, 32 (fine)
        "coarse": (lambda: noise(4).resize((8, 8), Image.BICUBIC), "translation", 8),
        "between": (lambda: noise(8), "translation:0.0833", 12),
        "fine": (lambda: noise(32), "translation:0.0625", None)}
    for name, (make, expected, detail) in kinds.items():
        folder = tmp_path / name
        folder.mkdir()
        for i in range(20):
            make().resize((32, 32), Image.BICUBIC).convert("RGB").save(folder / f"{i}.png")
        lines = []
        chosen = folder_recipe.choose(load_preset("folder", data_path=str(folder)), set(),
                                      lines.append)
        assert chosen.augment == expected, name
        held = f"{detail} pixels across" if detail else "more than 16 pixels across"
        assert f"their detail holds {held}" in lines[0], lines[0]
