"""The feature networks of FID and KID, each named in every row it makes.

Two networks, chosen by ``--fid-network`` (``feature_network``):

  standard  inception-2015-12-05: the frozen TF graph every published FID
            uses (evaluation/inception_graph.py), read from a file the user places:
            ``$OGAN_FID_GRAPH``, else ``~/.keras/models/classify_image_graph_def.pb``
            ($KERAS_HOME/models/ where that is set). Comparable with papers.
  keras     Keras' InceptionV3 with its ImageNet weights (include_top=False,
            pooling="avg") after a bilinear tf.image.resize to 299 px: the
            fallback. Another network and another resize than the papers',
            so its figures are NOT comparable with published ones, only
            with each other.
  auto      standard where its file is placed, else keras (with a note).

Neither is ever downloaded here (runs stay offline and reproducible): a
missing file is a one-line error naming it, where it comes from and where
to put it.
"""

import os
from pathlib import Path

import numpy as np

from ..data.images import unit_range
from ..errors import OganError
from ..messages import say
from . import inception_graph

CHOICES = ("auto", "standard", "keras")
GRAPH_ENV = "OGAN_FID_GRAPH"
GRAPH_URL = "http://download.tensorflow.org/models/image/imagenet/" + inception_graph.GRAPH_ARCHIVE
KERAS_NAME = "keras-inceptionv3-imagenet"
INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
# Where Keras itself fetches it; we never download.
INCEPTION_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
    + INCEPTION_WEIGHTS_FILE
)
INCEPTION_SIZE = 299


class MissingWeightsError(OganError):
    """The file of a FID feature network is not where it is looked for."""


class FeatureNetwork:
    """A named feature network: features(uint8 (n, H, W, 3)) -> float64 (n, d).

    name: what rows record ("inception-2015-12-05", "keras-inceptionv3-imagenet");
    comparable: whether its FIDs can stand beside published ones;
    file, sha256: the weights it was read from (sha256 None: not hashed).
    """

    def __init__(self, name, features, comparable, file=None, sha256=None):
        self.name, self.features = name, features
        self.comparable, self.file, self.sha256 = comparable, file, sha256

    def describe(self):
        note = "" if self.comparable else ", not comparable with published FIDs"
        return f"{self.name} ({self.file}{note})"

    def row(self):
        """What every FID/KID row records of the network."""
        return {"fid_network": self.name, "fid_network_file": str(self.file),
                "fid_network_sha256": (self.sha256 or "")[:16],
                "fid_comparable": self.comparable}


def keras_models_dir():
    """Keras' download cache for model weights: $KERAS_HOME/models or ~/.keras/models."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def graph_path():
    """Where the standard graph is looked for: $OGAN_FID_GRAPH, else Keras' models folder."""
    return Path(os.environ.get(GRAPH_ENV) or keras_models_dir() / inception_graph.GRAPH_FILE)


def _missing_graph(path):
    return MissingWeightsError(
        f"the standard FID network {inception_graph.GRAPH_FILE} is not at {path}; extract it "
        f"from {GRAPH_URL} to there (or set ${GRAPH_ENV} to its path), or pass "
        "--fid-network keras (not comparable with papers) or --no-fid")


def inception_weights_path():
    """The ImageNet weights file of Keras' InceptionV3 (no top), or a one-line
    error saying which file to place where (this machine cannot download it)."""
    path = keras_models_dir() / INCEPTION_WEIGHTS_FILE
    if not path.is_file():
        raise MissingWeightsError(
            f"FID needs the InceptionV3 weights {INCEPTION_WEIGHTS_FILE} in {path.parent}/ "
            f"(from {INCEPTION_WEIGHTS_URL}); place it there, or pass --no-fid"
        )
    return path


def inception_model(weights="imagenet"):
    """Keras' InceptionV3 pool features, (B, 299, 299, 3) in [-1, 1] -> (B, 2048).

    weights: "imagenet" (the cached file, never downloaded here), None
    (random: for tests), or a path to a weights file.
    """
    import keras

    if weights == "imagenet":
        weights = str(inception_weights_path())
    return keras.applications.InceptionV3(
        include_top=False, pooling="avg", weights=weights,
        input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3),
    )


def inception_features(images, model, batch_size=50):
    """Pool features of uint8 images, resized (bilinear) to 299 px and scaled
    to [-1, 1] as keras.applications.inception_v3.preprocess_input does."""
    import tensorflow as tf

    out = []
    for lo in range(0, len(images), batch_size):
        x = tf.image.resize(
            tf.cast(images[lo:lo + batch_size], tf.float32), (INCEPTION_SIZE, INCEPTION_SIZE)
        )
        out.append(np.asarray(model.predict_on_batch(unit_range(x)), np.float64))
    return np.concatenate(out)


def standard_network(path=None):
    """The 2015-12-05 Inception graph at path (default: graph_path())."""
    path = Path(path) if path is not None else graph_path()
    if not path.is_file():
        raise _missing_graph(path)
    try:
        graph = inception_graph.InceptionGraph(path)
    except ImportError as err:  # only a JAX install without TensorFlow gets here
        raise MissingWeightsError(f"the standard FID network needs TensorFlow ({err}); "
                                  "install it, or pass --fid-network keras") from None
    return FeatureNetwork(inception_graph.NAME, graph.features, True, path, graph.sha256)


def keras_network(model=None):
    """Keras' InceptionV3 (the fallback); model: a built one (tests pass random weights)."""
    file = "random weights" if model is not None else inception_weights_path()
    model = model if model is not None else inception_model()
    return FeatureNetwork(KERAS_NAME, lambda images: inception_features(images, model), False,
                          file)


def feature_network(choice="auto", log=say):
    """The FeatureNetwork for --fid-network: auto, standard, keras, or a path
    to the standard graph file."""
    if choice not in CHOICES:
        if not Path(choice).is_file():
            raise MissingWeightsError(f"--fid-network {choice} is neither one of "
                                      f"{', '.join(CHOICES)} nor a file")
        return standard_network(choice)
    if choice == "standard":
        return standard_network()
    if choice == "auto" and graph_path().is_file():
        return standard_network()
    if choice == "auto" and not (keras_models_dir() / INCEPTION_WEIGHTS_FILE).is_file():
        raise MissingWeightsError(
            f"FID needs a feature network: the standard {inception_graph.GRAPH_FILE} at "
            f"{graph_path()} (from {GRAPH_URL}), or Keras' {INCEPTION_WEIGHTS_FILE} in "
            f"{keras_models_dir()}/ (not comparable with papers); place one, or pass --no-fid")
    network = keras_network()
    if log:
        log(f"note: FID and KID with {KERAS_NAME}, the fallback (not comparable with "
            f"published FIDs); place {inception_graph.GRAPH_FILE} at {graph_path()} for "
            "the standard network")
    return network
