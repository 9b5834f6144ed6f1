"""What the model commands write: an output path checked for its kind,
images and grids of images, written atomically (runs/files.py)."""

from pathlib import Path

import imageio.v3 as iio
import numpy as np

from ..data.images import EXTENSIONS
from ..errors import OganError
from ..runs.files import atomic_write
from .grids import pairs, tile

IMAGE_SUFFIXES = EXTENSIONS  # what a grid may be written as: what a folder is read for


def output_path(path, suffixes=IMAGE_SUFFIXES):
    """`path` where its suffix is one of `suffixes` (its folder made), else
    OganError: checked before any model is loaded."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise OganError(f"output {path} must end in {' or '.join(suffixes)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_image(path, image):
    atomic_write(path, lambda tmp: iio.imwrite(tmp, image))


def write_array(path, array):
    atomic_write(path, lambda tmp: np.save(tmp, array))


def grid(images, cols):
    """Images in rows of `cols`, the last row padded with blanks."""
    rows = -(-len(images) // cols)
    pad = np.zeros((rows * cols - len(images),) + images.shape[1:], np.uint8)
    return tile(np.concatenate([images, pad]), rows, cols)


def rows_grid(rows):
    """(n, m, H, W, 3) -> a grid of n rows of m images."""
    return grid(rows.reshape((-1,) + rows.shape[2:]), rows.shape[1])


def pairs_grid(images, recon, per_row=4):
    """Rows of up to per_row (image, reconstruction) pairs; blank padding."""
    return grid(pairs(images, recon), 2 * min(len(images), per_row))
