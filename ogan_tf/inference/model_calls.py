"""Model calls on numpy batches: the one encode and decode of ogan_tf.

Every user of a trained G and E (grids, metrics, the API, the page) goes
through these, with one convention: images are uint8 (n, H, W, 3), codes
float32 (n, z_dim). Calls are batched (bounded memory) and in inference
mode: a direct call for one-off work, a FixedBatch for a long-running
server that must not retrace.
"""

import keras
import numpy as np

from ..data.images import to_float, to_uint8
from ..messages import say
from ..model import losses
from .codes import mixes
from .images import read_files

BATCH = 256  # images per model call


def batched(fn, x, size=BATCH):
    """fn over x in chunks of `size`, results concatenated."""
    return np.concatenate([np.asarray(fn(x[lo:lo + size])) for lo in range(0, len(x), size)])


def infer(model, x):
    """model(x) in inference mode, as numpy. A direct call, not
    predict_on_batch: under a distribution strategy predict spreads the batch
    over all replicas (a collective every worker must join), and grids and
    evaluations run on the chief alone. model: a Keras model or a FixedBatch."""
    return np.asarray(keras.ops.convert_to_numpy(model(x, training=False)))


class FixedBatch:
    """A model called on batches of exactly `size` rows (the last one padded
    and cut) with predict_on_batch: Keras traces one predict function for
    that shape (a tf.function on TensorFlow, a jit on JAX), so a server's
    requests of any size never retrace it. A lock makes calls from the
    server's threads take turns on the one model. Used wherever a model is
    (encode, decode); no distribution strategy."""

    def __init__(self, model, size, lock):
        self.model, self.size, self.lock = model, size, lock

    def __call__(self, x, training=False):
        x = np.asarray(x, np.float32)
        out = []
        for lo in range(0, len(x), self.size):
            chunk = x[lo:lo + self.size]
            padded = np.concatenate([chunk, np.zeros((self.size - len(chunk),) + x.shape[1:],
                                                     np.float32)])
            with self.lock:
                y = self.model.predict_on_batch(padded)
            out.append(np.asarray(y)[:len(chunk)])
        return np.concatenate(out)

    def traces(self):
        """How often TensorFlow traced the predict function (None on JAX)."""
        fn = getattr(self.model, "predict_function", None)
        count = getattr(fn, "experimental_get_tracing_count", None)
        return count() if count is not None else None


def encode(encoder, images, raw=False):
    """N(E(x)), the codes G expects (unit std), of uint8 images; with
    raw=True, E(x) itself (avg of it is the critic's score). float32 (n, z_dim)."""
    codes = batched(lambda b: infer(encoder, to_float(b)), images).astype(np.float32)
    return codes if raw else np.asarray(losses.standardize(codes), np.float32)


def decode(generator, codes):
    """G(codes) as uint8 images (n, res, res, 3)."""
    return to_uint8(batched(lambda c: infer(generator, c), np.asarray(codes, np.float32)))


def reconstruct(generator, encoder, images, scale):
    """G(s * N(E(x))) of uint8 images, uint8 (n, res, res, 3)."""
    return decode(generator, scale * encode(encoder, images))


def interpolate(generator, a, b, steps, scale):
    """G(s * ((1 - t) a + t b)) for `steps` t from 0 to 1 (codes.mixes):
    codes a, b of shape (..., z_dim) -> uint8 (..., steps, res, res, 3)."""
    codes = scale * mixes(a, b, steps)
    images = decode(generator, codes.reshape(-1, codes.shape[-1]))
    return images.reshape(codes.shape[:-1] + images.shape[1:])


def encode_files(encoder, paths, resolution, crop_max=0, log=say, chunk=BATCH, workers=8):
    """(codes N(E(x)) float32 (m, z_dim), kept) of image files, read on
    `workers` threads and encoded `chunk` at a time (images.read_files:
    memory stays bounded for a large folder); kept: int64 indices of the
    paths that were read. Unreadable files are skipped and named in the
    log; ImageError when none can be read."""
    codes, kept = [], []
    for images, rows in read_files(paths, resolution, crop_max, log, chunk, workers):
        codes.append(encode(encoder, images))
        kept.extend(rows)
    return np.concatenate(codes), np.asarray(kept, np.int64)
