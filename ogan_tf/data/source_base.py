"""The Source type every data set is (data/sources.py lists the kinds).

A Source is opened once with its resolution, crop and decoding settings
bound; it lists its items once and returns item i with ``load(i)``. It also
knows which items are held back for the grids and the evaluation
(``train_indices``, ``heldout(n)``): a set on disk holds back a fixed random
min(256, n / 5) of its images.
"""

import functools
from pathlib import Path

import numpy as np

from ..errors import DataError

HELDOUT_MAX = 256  # images of a set on disk held back for the grids
_HELDOUT_SEED = 20190404  # fixed: the held-out images are a property of the data set


def split(n):
    """(held-out indices, training indices) of a set of n images on disk: a
    fixed random min(HELDOUT_MAX, n // 5) (at least 1) are held back."""
    if n < 2:
        raise DataError(f"the data set has {n} image(s); it needs at least 2")
    held = min(HELDOUT_MAX, max(1, n // 5))
    order = np.random.default_rng(_HELDOUT_SEED).permutation(n)
    return np.sort(order[:held]), np.sort(order[held:])


class Source:
    """A data set with its resolution, crop and JPEG draft setting bound."""

    kind = "?"
    in_memory = False  # True: load_many of every training image is cheap (generated)

    def __init__(self, path, resolution, crop_max=0, jpeg_draft=False):
        self.path = Path(path)
        self.resolution = resolution
        self.crop_max = crop_max
        self.jpeg_draft = jpeg_draft

    def __len__(self):
        raise NotImplementedError

    def name(self, i):
        """What item i is called in a warning (a path, a key)."""
        raise NotImplementedError

    def load(self, i):
        """Item i -> ((res, res, 3) uint8, upscaled); images.BadImage or
        OSError when it cannot be read."""
        raise NotImplementedError

    def load_many(self, indices):
        """Items as one uint8 (n, res, res, 3) array (all must be readable)."""
        return np.stack([self.load(int(i))[0] for i in indices])

    def describe(self):
        return f"{len(self):,} images in {self.kind} {self.path}"

    @functools.cached_property
    def _split(self):
        return split(len(self))

    @property
    def train_indices(self):
        return self._split[1]

    @property
    def heldout_count(self):
        """Distinct held-out images (None: any number, a generated set)."""
        return len(self._split[0])

    def heldout(self, n):
        """n uint8 images kept out of training (for grids and evaluation). A
        held-out file that cannot be read is passed over; a small set holds
        back fewer than n, and they repeat."""
        good, first_error = [], None
        for i in self._split[0]:
            try:
                good.append(self.load(int(i))[0])
            except Exception as err:  # a bad held-out file: take the next one
                first_error = first_error or f"{self.name(i)}: {err}"
            if len(good) == n:
                break
        if not good:
            raise DataError(f"none of the held-out images of {self.path} could be read "
                            f"(first: {first_error})")
        return np.stack([good[k % len(good)] for k in range(n)])
