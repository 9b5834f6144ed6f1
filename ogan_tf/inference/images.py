"""Images for a trained model, as the training pipeline prepares them:
uint8 RGB arrays, (n, H, W, 3) or one (H, W, 3), or image files, of any
size (data/images.py: files decoded by Pillow and converted to RGB, the
square centre crop of the run's crop_max, antialiased bilinear resize). A
path is a file or a member of a dataset zip (set.zip/00000/img.png). A file
that cannot be read is skipped and named in the log; an array of another
channel count or dtype, or nothing usable, is an ImageError. Many files are
read on a thread pool, a chunk at a time (read_files)."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..data import images as pixels
from ..data.stylegan_zip import read_bytes
from ..errors import OganError, first_line
from ..messages import say

SKIPS_NAMED = 20  # unreadable files of read_files named one by one; past them, a count


class ImageError(OganError):
    """Images that cannot be used (none readable, wrong channels or dtype)."""


# Images --------------------------------------------------------------------
def fit_to(image, resolution, crop_max=0):
    """A uint8 (H, W, 3) array -> (res, res, 3): the training pipeline's square
    centre crop and antialiased bilinear resize (data.images.load_array)."""
    if image.shape[:2] == (resolution, resolution):
        return image
    return pixels.load_array(image, resolution, crop_max)[0]


def read_image(path, resolution, crop_max=0):
    """A file as the training pipeline reads it (data.images.load: any Pillow
    mode converted to RGB as the author's imread(mode="RGB"), centre crop,
    resize); ImageError saying why not."""
    try:
        data = read_bytes(path)  # a file, or a member of a zip: set.zip/00000/img.png
        return pixels.load(data, resolution, crop_max)[0]
    except (OSError, pixels.BadImage) as err:
        raise ImageError(f"{path} is unreadable ({first_line(err)})") from None


def _check_array(array, what):
    if array.dtype != np.uint8:
        raise ImageError(f"{what} has dtype {array.dtype}; pass uint8 RGB images in [0, 255]")
    if array.ndim not in (3, 4) or array.shape[-1] != 3:
        raise ImageError(
            f"{what} has shape {array.shape}; pass RGB images, (n, H, W, 3) or (H, W, 3)"
        )
    return array[None] if array.ndim == 3 else array


def load_images(items, resolution, log=say, crop_max=0):
    """(uint8 (n, res, res, 3), names) from arrays and/or paths (see the module doc).

    Unreadable files are skipped with a log line; ImageError if nothing is
    left, or for a bad array. crop_max: as Config.crop_max (0 = min(h, w)).
    """
    if isinstance(items, (str, Path, np.ndarray)):
        items = [items]
    images, names, skipped = [], [], []
    for i, item in enumerate(items):
        if isinstance(item, np.ndarray):
            for j, image in enumerate(_check_array(item, f"array {i}")):
                images.append(fit_to(image, resolution, crop_max))
                names.append(f"array {i}[{j}]")
            continue
        try:
            images.append(read_image(item, resolution, crop_max))
            names.append(str(item))
        except ImageError as err:
            skipped.append(str(err))
            log(f"skipped {err}")
    if not images:
        raise ImageError(
            "no usable image" + (f" ({len(skipped)} skipped: {skipped[0]}"
                                 + (", ..." if len(skipped) > 1 else "") + ")" if skipped else "")
        )
    return np.stack(images), names


def read_files(paths, resolution, crop_max=0, log=say, chunk=256, workers=8):
    """Yield (uint8 images (m, res, res, 3), their indices in `paths`) of
    image files, `chunk` paths at a time, read on `workers` threads: memory
    stays bounded for a large folder. A file that cannot be read is skipped
    and named in the log (the first SKIPS_NAMED, then a count); ImageError
    at the end when none could be read."""
    paths = [str(p) for p in paths]
    skipped, kept = [], 0

    def read(path):
        try:
            return read_image(path, resolution, crop_max), None
        except ImageError as err:
            return None, str(err)

    with ThreadPoolExecutor(workers) as pool:
        for lo in range(0, len(paths), chunk):
            batch, rows = [], []
            for i, (image, err) in enumerate(pool.map(read, paths[lo:lo + chunk]), lo):
                if err is None:
                    batch.append(image)
                    rows.append(i)
                    continue
                skipped.append(err)
                if len(skipped) <= SKIPS_NAMED:
                    log(f"skipped {err}")
            if batch:
                kept += len(batch)
                yield np.stack(batch), rows
    if len(skipped) > SKIPS_NAMED:
        log(f"skipped {len(skipped) - SKIPS_NAMED} more unreadable file(s)")
    if not kept:
        raise ImageError(f"no usable image among {len(paths)} file(s)"
                         + (f" ({skipped[0]})" if skipped else ""))
