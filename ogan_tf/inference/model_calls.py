"""Model calls on numpy batches: the one encode and decode of ogan_tf.

Every user of a trained G and E (grids, metrics, the API) goes through
these, with one convention: images are uint8 (n, H, W, 3), codes float32
(n, z_dim). Calls are batched (bounded memory) and in inference mode.
"""

import keras
import numpy as np

from ..model import losses
from ..data.images import to_float, to_uint8

BATCH = 256  # images per model call


def batched(fn, x, size=BATCH):
    """fn over x in chunks of `size`, results concatenated."""
    return np.concatenate([np.asarray(fn(x[lo:lo + size])) for lo in range(0, len(x), size)])


def infer(model, x):
    """model(x) in inference mode, as numpy. A direct call, not
    predict_on_batch: under a distribution strategy predict spreads the batch
    over all replicas (a collective every worker must join), and grids and
    evaluations run on the chief alone."""
    return np.asarray(keras.ops.convert_to_numpy(model(x, training=False)))


def encode(encoder, images, raw=False):
    """N(E(x)), the codes G expects (unit std), of uint8 images; with
    raw=True, E(x) itself (avg of it is the critic's score). float32 (n, z_dim)."""
    codes = batched(lambda b: infer(encoder, to_float(b)), images).astype(np.float32)
    return codes if raw else np.asarray(losses.standardize(codes), np.float32)


def decode(generator, codes):
    """G(codes) as uint8 images (n, res, res, 3)."""
    return to_uint8(batched(lambda c: infer(generator, c), np.asarray(codes, np.float32)))
