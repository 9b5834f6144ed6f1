"""DiffAugment (Zhao et al. 2020): differentiable augmentation of every image E sees.

A discriminator trained on a small set learns its images by heart; DiffAugment
shows it only randomly transformed images, real and generated alike, and lets
G's gradient flow back through the transform. Here E is the discriminator and
the encoder, so the one transform T (a fresh draw per image and step) goes in
front of each of E's calls: E(T(x_real)), E(T(G(z))), with the author's
stop-gradient copy taken of T(G(z)) so both E calls on the fake batch see the
same image. The rho term then asks E(T(G(z))) to recover z: E learns codes
that survive a small shift or a hole, which is what a code should carry.

Both transforms follow DiffAugment's defaults and fill with 0 (mid-grey on
the [-1, 1] scale), as its code does:
  translation  shift by up to 1/8 of the side in x and y, zeros shifted in
  cutout       a zero square of half the side at a random place (clipped)
"name:ratio" sets another fraction of the side (translation:0.0625 shifts by
up to 1/16): on a 32 px digit 1/8 is 4 px, enough to move strokes off it.
Written in keras.ops (one-hot matrices and masks, no gather), so it runs
under XLA and on JAX. The author used none: Config.augment = "none".
"""

import keras
from keras import ops

from ..config import AUGMENT_NAMES

TRANSLATION_RATIO = 0.125  # DiffAugment's
CUTOUT_RATIO = 0.5  # DiffAugment's


def shift_matrices(shifts, size, dtype):
    """(B, size, size) one-hot matrices M with (M @ v)[i] = v[i - shift]
    (0 where i - shift falls outside)."""
    rows = ops.reshape(ops.arange(size), (1, size, 1))
    cols = ops.reshape(ops.arange(size), (1, 1, size))
    shifts = ops.reshape(ops.cast(shifts, "int32"), (-1, 1, 1))
    return ops.cast(ops.equal(cols, rows - shifts), dtype)


def translate(images, shift_y, shift_x):
    """images (B, H, W, C) shifted down by shift_y and right by shift_x rows
    and columns (each (B,) ints), zeros shifted in."""
    _, height, width, _ = ops.shape(images)
    rows = shift_matrices(shift_y, height, images.dtype)
    cols = shift_matrices(shift_x, width, images.dtype)
    out = ops.einsum("bij,bjwc->biwc", rows, images)
    return ops.einsum("bkw,bhwc->bhkc", cols, out)


def cutout_mask(top, left, size, height, width, dtype):
    """(B, H, W, 1) ones with a zero size x size square from (top, left) (each
    (B,) ints; the square is clipped at the border)."""
    def band(start, length):
        idx = ops.reshape(ops.arange(length), (1, length))
        start = ops.reshape(ops.cast(start, "int32"), (-1, 1))
        return ops.logical_and(idx >= start, idx < start + size)

    hole = ops.logical_and(band(top, height)[:, :, None], band(left, width)[:, None, :])
    return ops.cast(ops.logical_not(hole), dtype)[..., None]


def random_translation(images, seed, ratio=TRANSLATION_RATIO):
    batch, height, width, _ = ops.shape(images)
    limit_y, limit_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    shift_y = keras.random.randint((batch,), -limit_y, limit_y + 1, seed=seed)
    shift_x = keras.random.randint((batch,), -limit_x, limit_x + 1, seed=seed)
    return translate(images, shift_y, shift_x)


def random_cutout(images, seed, ratio=CUTOUT_RATIO):
    batch, height, width, _ = ops.shape(images)
    size = int(height * ratio + 0.5)
    # DiffAugment: the square's centre anywhere in [0, side + (1 - size % 2))
    centre_y = keras.random.randint((batch,), 0, height + 1 - size % 2, seed=seed)
    centre_x = keras.random.randint((batch,), 0, width + 1 - size % 2, seed=seed)
    mask = cutout_mask(centre_y - size // 2, centre_x - size // 2, size, height, width,
                       images.dtype)
    return images * mask


# Config.augment's names (config.AUGMENT_NAMES, in its order) -> transform(images, seed)
AUGMENTS = dict(zip(AUGMENT_NAMES, (random_translation, random_cutout), strict=True))


def parse(text):
    """Config.augment ("none" or "translation,cutout:0.25") -> tuple of
    entries, each a name with an optional ":ratio"."""
    return () if text in ("", "none") else tuple(text.split(","))


def augment(images, entries, seed, p=1.0):
    """The transforms `entries` (in this order) on images (B, H, W, C), each
    drawn afresh per image from the SeedGenerator `seed`; with p < 1 each
    transform reaches an image with probability p (ADA's p), else the image
    passes unchanged."""
    for entry in entries:
        name, _, ratio = entry.partition(":")
        out = AUGMENTS[name](images, seed, *([float(ratio)] if ratio else []))
        if p < 1:
            chosen = keras.random.uniform((ops.shape(images)[0], 1, 1, 1), seed=seed) < p
            out = ops.where(chosen, out, images)
        images = out
    return images
