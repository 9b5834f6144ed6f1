"""The standard FID network: the 2015-12-05 Inception as a frozen TF graph.

Published FIDs (TTUR, TF-GAN, StyleGAN's ``fid50k_full``, clean-fid's
``legacy_tensorflow``) come from one network: Google's Inception of
2015-12-05, ``classify_image_graph_def.pb`` in
``inception-2015-12-05.tgz``. TTUR feeds it float images in [0, 255] at
their own size to the tensor ``ExpandDims:0`` and reads the 2048 features
of ``pool_3:0``; the graph itself resizes to 299 x 299 (its own
ResizeBilinear, TensorFlow 1's corner-aligned-at-the-origin kernel) and
scales the pixels, so feeding the same tensor gives the same features, the
"standard resize" included. StyleGAN2-ADA's ``inception-2015-12-05.pt`` is
a TorchScript port of this graph.

The file is placed by the user (nothing is downloaded) and imported with
``tf.compat.v1.import_graph_def`` inside ``tf.compat.v1.wrap_function``,
with ExpandDims:0 mapped to the function's input (the graph's JPEG
placeholder before it is never run). It needs TensorFlow (installed with ogan-tf on every Keras
backend); a file that is not such a graph is one line (NetworkFileError).
"""

import hashlib
from pathlib import Path

import numpy as np

from ..errors import OganError, first_line

GRAPH_FILE = "classify_image_graph_def.pb"
GRAPH_ARCHIVE = "inception-2015-12-05.tgz"
INPUT_TENSOR = "ExpandDims:0"  # float (n, H, W, 3) in [0, 255]
OUTPUT_TENSOR = "pool_3:0"  # (n, 1, 1, 2048)
RESIZE_OP = "ResizeBilinear"
FEATURES = 2048
NAME = "inception-2015-12-05"


class NetworkFileError(OganError):
    """A placed feature-network file that is missing or not the expected graph."""


def file_digest(path):
    """sha256 of a file, hex (what the rows record, to tell copies apart)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_graph_def(path):
    """The GraphDef in path, checked for the tensors FID reads."""
    import tensorflow as tf

    path = Path(path)
    expected = (f"the 2015-12-05 Inception graph {GRAPH_FILE} (a frozen GraphDef with "
                f"{INPUT_TENSOR} and {OUTPUT_TENSOR})")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise NetworkFileError(f"cannot read {path} ({first_line(err)}); FID with the "
                               f"standard network needs {expected}") from None
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(data)
    except Exception as err:  # protobuf's DecodeError
        raise NetworkFileError(f"{path} is not {expected}: not a GraphDef "
                               f"({first_line(err)})") from None
    names = {node.name: node for node in graph_def.node}
    missing = [t for t in (INPUT_TENSOR, OUTPUT_TENSOR) if t.split(":")[0] not in names]
    if missing:
        raise NetworkFileError(f"{path} is not {expected}: it has no {' or '.join(missing)}")
    if not any(n.op == RESIZE_OP and n.input and n.input[0] == INPUT_TENSOR.split(":")[0]
               for n in graph_def.node):
        raise NetworkFileError(f"{path} is not {expected}: its input is not resized by a "
                               f"{RESIZE_OP} inside the graph")
    return graph_def


class InceptionGraph:
    """pool_3 features of uint8 images through the placed frozen graph.

    features(images): uint8 (n, H, W, 3) -> float64 (n, 2048), batch by batch.
    """

    def __init__(self, path, batch_size=50):
        import tensorflow as tf

        self.path = Path(path)
        self.batch_size = batch_size
        graph_def = read_graph_def(self.path)

        def imported(images):
            return tf.compat.v1.import_graph_def(
                graph_def, input_map={INPUT_TENSOR: images},
                return_elements=[OUTPUT_TENSOR], name="")[0]

        try:
            # The input mapped to a batch of any size: the shapes of the
            # graph are inferred again (TTUR rewrote its batch-of-one shapes
            # by hand), and the unmapped JPEG placeholder is never run.
            self._fn = tf.compat.v1.wrap_function(
                imported, [tf.TensorSpec([None, None, None, 3], tf.float32)])
        except Exception as err:  # an op TensorFlow no longer has, a bad attribute
            raise NetworkFileError(f"{self.path}: TensorFlow cannot import the graph "
                                   f"({first_line(err)})") from None
        self._tf = tf
        self.width = self._probe()
        if self.width != FEATURES:
            raise NetworkFileError(f"{self.path} is not the 2015-12-05 Inception graph: "
                                   f"{OUTPUT_TENSOR} gives {self.width} features, not "
                                   f"{FEATURES}")
        self.sha256 = file_digest(self.path)

    def _run(self, batch):
        out = self._fn(self._tf.constant(np.asarray(batch, np.float32)))
        return np.asarray(out, np.float64).reshape(len(batch), -1)

    def _probe(self):
        try:
            return self._run(np.zeros((1, 8, 8, 3), np.uint8)).shape[1]
        except Exception as err:
            raise NetworkFileError(f"{self.path}: the graph does not run from "
                                   f"{INPUT_TENSOR} to {OUTPUT_TENSOR} "
                                   f"({first_line(err)})") from None

    def features(self, images):
        if len(images) == 0:
            return np.zeros((0, self.width))
        return np.concatenate([self._run(images[lo:lo + self.batch_size])
                               for lo in range(0, len(images), self.batch_size)])
