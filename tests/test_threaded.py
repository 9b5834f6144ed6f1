"""data/threaded.py: the input pipeline where TensorFlow is not installed
(a JAX-only machine). Folder sets on both engines: tests/test_sources.py."""

import sys
import threading

import numpy as np
import pytest

from ogan_tf.config import load_preset
from ogan_tf.data import images, sources, threaded

from conftest import training_batches


def image_of(i):
    return np.full((2, 2, 3), i, np.uint8)


def test_shapes_without_tensorflow_each_pass_is_a_new_permutation(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # `import tensorflow` fails
    config = load_preset("shapes", dataset_size=64, batch_size=16)
    stream = training_batches(config)
    passes = [np.concatenate([next(stream)[0] for _ in range(4)]) for _ in range(2)]
    train = images.to_float(sources.open_source(config).load_many(range(64)))
    for x in passes:
        assert x.shape == (64, 32, 32, 3) and x.dtype == np.float32
        assert -1.0 <= x.min() and x.max() <= 1.0
        assert sorted(map(bytes, x)) == sorted(map(bytes, train))  # every image once
    assert not np.array_equal(passes[0], passes[1])  # reshuffled


def test_threaded_batches_drop_unreadable_images_and_keep_every_pass_whole():
    def load(i):
        return image_of(i), i % 3 != 0  # every third image "unreadable"

    stream = threaded.threaded_batches(np.arange(12), load, 4, seed=0,
                                       finish=lambda x: x[:, 0, 0, 0], workers=3)
    seen = np.concatenate([next(stream) for _ in range(10)])  # 40 images: 5 passes of 8
    stream.close()
    assert seen.shape == (40,) and not (seen % 3 == 0).any()
    counts = np.bincount(seen, minlength=12)
    assert all(counts[i] == (5 if i % 3 else 0) for i in range(12))


def test_an_error_in_load_is_raised_by_the_stream_and_closing_it_ends_the_threads():
    def load(i):
        if i == 5:
            raise ValueError("image 5 is gone")
        return image_of(i), True

    stream = threaded.threaded_batches(np.arange(8), load, 2, seed=1, finish=lambda x: x)
    with pytest.raises(ValueError, match="image 5 is gone"):
        for _ in range(8):
            next(stream)
    ok = threaded.threaded_batches(np.arange(8), lambda i: (image_of(i), True), 2, seed=1,
                                   finish=lambda x: x)
    next(ok)
    ok.close()  # as Keras does when fit ends: the producer stops
    for thread in threading.enumerate():
        if thread.name == "ogan-input":
            thread.join(timeout=30)
    assert not any(t.name == "ogan-input" for t in threading.enumerate())
