"""The three sample grids, as uint8 arrays; every model call is batched.

- random: a rows x cols grid of G(z) for a fixed z;
- reconstruction: rows of (real, G(s * N(E(real)))) pairs;
- interpolation: rows of real A, G(s * mix) for `steps` linear mixes of the
  N-codes of A and B (mix 0 and 1 included, i.e. the reconstructions), real B.
"""

import keras
import numpy as np

from . import losses


def to_uint8(images):
    """Images in [-1, 1] (any float array) -> uint8 in [0, 255]."""
    images = np.asarray(images, np.float32)
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def to_float(images):
    """uint8 images -> float32 in [-1, 1], the models' input range."""
    return np.asarray(images, np.float32) / 127.5 - 1.0


def tile(images, rows, cols):
    """(rows*cols, H, W, C) -> (rows*H, cols*W, C), row-major."""
    images = np.asarray(images)
    n, h, w, c = images.shape
    if n != rows * cols:
        raise ValueError(f"tile needs {rows * cols} images, got {n}")
    return images.reshape(rows, cols, h, w, c).swapaxes(1, 2).reshape(rows * h, cols * w, c)


def batched(fn, x, size=256):
    """fn over x in chunks of `size` (bounded memory), results concatenated."""
    return np.concatenate([np.asarray(fn(x[lo:lo + size])) for lo in range(0, len(x), size)])


def infer(model, x):
    """model(x) in inference mode, as numpy. A direct call, not
    predict_on_batch: under a distribution strategy predict spreads the batch
    over all replicas (a collective every worker must join), and grids and
    evaluations run on the chief alone."""
    return np.asarray(keras.ops.convert_to_numpy(model(x, training=False)))


def encode(encoder, images):
    """N(E(x)) for float images in [-1, 1]: the codes G expects (unit std)."""
    codes = infer(encoder, images)
    return np.asarray(losses.standardize(codes))


def random_grid(generator, z, rows=9, cols=9):
    """G(z) for a fixed z of shape (rows*cols, z_dim)."""
    return tile(to_uint8(infer(generator, z)), rows, cols)


def reconstruction_grid(generator, encoder, images, scale, rows=8):
    """Rows of (real, reconstruction) pairs; images: (n, H, W, 3) in [-1, 1]."""
    n = len(images)
    if n % rows:
        raise ValueError(f"{n} images do not fill {rows} rows of pairs")
    recon = infer(generator, scale * encode(encoder, images))
    pairs = np.stack([images, recon], axis=1).reshape((2 * n,) + images.shape[1:])
    return tile(to_uint8(pairs), rows, 2 * n // rows)


def interpolation_grid(generator, encoder, starts, ends, scale, steps=10):
    """One row per (start, end) pair: start, `steps` decoded mixes, end."""
    rows = len(starts)
    codes = encode(encoder, np.concatenate([starts, ends]))
    alpha = np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None]
    mixes = (1 - alpha) * codes[:rows, None] + alpha * codes[rows:, None]
    decoded = infer(generator, scale * mixes.reshape(rows * steps, -1))
    decoded = decoded.reshape((rows, steps) + decoded.shape[1:])
    strip = np.concatenate([starts[:, None], decoded, ends[:, None]], axis=1)
    return tile(to_uint8(strip.reshape((-1,) + strip.shape[2:])), rows, steps + 2)
