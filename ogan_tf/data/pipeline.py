"""The training input pipeline: a Source's training images as an infinite,
shuffled tf.data stream of float32 batches in [-1, 1].

A generated set (in memory) is sliced from one array; a set on disk is read
image by image in parallel tf.data threads (Source.load), where an
unreadable image is skipped and counted, never the end of an epoch. Where
TensorFlow is not installed (KERAS_BACKEND=jax alone), threaded.py makes the
same stream with Python threads.
"""

import threading

import numpy as np

from ..errors import DataError
from ..messages import say
from . import images, threaded

_PROBE = 32  # training images decoded up front to catch a set nobody can read
# Unreadable images in a row after which training stops with an error (the
# data went away mid-run: an unmounted disk, moved files) instead of a
# pipeline that filters out every image forever and never yields a batch.
MIN_FAILURE_STREAK = 1000


class DataStats:
    """Thread-safe counts of images skipped (unreadable) and upscaled
    (smaller than the resolution) by the input pipeline, counted each time
    they are read; the first few files of each kind are also logged by name."""

    WARN_FIRST = 3

    def __init__(self, log=say):
        self.log = log
        self.skipped = 0
        self.upscaled = 0
        self._named = {"skip": set(), "upscale": set()}
        self._lock = threading.Lock()
        self.in_a_row = 0  # unreadable images since the last readable one
        self.fatal = None  # set (a message) when the pipeline gives up

    def _first_time(self, kind, name):
        named = self._named[kind]
        if name in named or len(named) >= self.WARN_FIRST:
            return False
        named.add(name)
        return True

    def skip(self, name, reason):
        with self._lock:
            self.skipped += 1
            self.in_a_row += 1
            warn = self._first_time("skip", name)
        if warn:
            self.log(f"data: skipped unreadable image {name} ({reason}); "
                     "training goes on, skipped images are counted in metrics.jsonl")

    def upscale(self, name, resolution):
        with self._lock:
            self.upscaled += 1
            warn = self._first_time("upscale", name)
        if warn:
            self.log(f"data: warning: {name} is smaller than {resolution} px and is "
                     "upscaled; upscaled images are counted in metrics.jsonl")

    def row(self):
        """The metrics.jsonl fields (counts since this process started)."""
        return {"data_skipped": self.skipped, "data_upscaled": self.upscaled}


def training_dataset(source, config, stats=None, log=say, shard=(0, 1), batch_size=None):
    """Infinite, shuffled tf.data.Dataset of float32 batches in [-1, 1].

    source: the data set (sources.open_source(config)).
    stats: a DataStats that counts skipped and upscaled images (sets on disk).
    shard: (index, count): this pipeline reads training images index,
        index + count, ... only (one input pipeline of several under a
        distribution strategy: each reads its own share, none repeats another's).
    batch_size: images per batch (default config.batch_size, the global batch).
    """
    batch_size = batch_size or config.batch_size
    index, count = shard
    try:
        import tensorflow as tf  # the input pipeline is tf.data on every backend...
    except ImportError:  # ...but where only JAX is installed: the same from threads
        return _threaded(source, config, stats or DataStats(log), log, shard, batch_size)
    if source.in_memory:
        train = source.load_many(source.train_indices[index::count])
        dataset = (tf.data.Dataset.from_tensor_slices(train)
                   .shuffle(len(train), seed=config.seed, reshuffle_each_iteration=True)
                   .repeat())
    else:
        dataset = _disk_images(source, config, stats or DataStats(log), log, shard)
    return (
        dataset.batch(batch_size, drop_remainder=True)
        .map(lambda x: images.unit_range(tf.cast(x, tf.float32)),
             num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def _disk_images(source, config, stats, log, shard):
    """Single uint8 images of a set on disk, shuffled, repeated."""
    import tensorflow as tf

    train = _disk_share(source, log, shard)
    res = config.resolution
    load = _loader(source, config, stats)

    def tf_load(i):
        image, ok = tf.numpy_function(load, [i], (tf.uint8, tf.bool), stateful=True)
        image.set_shape((res, res, 3))
        ok.set_shape(())
        return image, ok

    return (
        tf.data.Dataset.from_tensor_slices(train.astype(np.int64))
        .shuffle(len(train), seed=config.seed, reshuffle_each_iteration=True)
        .repeat()
        .map(tf_load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
        .filter(lambda image, ok: ok)
        .map(lambda image, ok: image)
    )


def _threaded(source, config, stats, log, shard, batch_size):
    """training_dataset's stream without TensorFlow: a Python generator of
    (batch,) tuples, the form Keras' fit takes from a generator."""
    def finish(uint8_batch):
        return (images.to_float(uint8_batch),)

    index, count = shard
    if source.in_memory:
        train = source.load_many(source.train_indices[index::count])
        return threaded.memory_batches(train, batch_size, config.seed, finish)
    train = _disk_share(source, log, shard)
    return threaded.threaded_batches(train, _loader(source, config, stats), batch_size,
                                     config.seed, finish)


def _disk_share(source, log, shard):
    """The training indices this pipeline reads (announced, and probed: a
    set none of whose first images can be read is a DataError)."""
    train = source.train_indices
    index, count = shard
    share = f" (input pipeline {index} of {count} reads every {count}th)" if count > 1 else ""
    log(f"data: {source.describe()}; {source.heldout_count:,} held out for the grids, "
        f"{len(train):,} for training{share}")
    train = train[index::count]
    if not len(train):
        raise DataError(f"{source.path} has too few training images to give each of "
                        f"{count} input pipelines one")
    _probe(source, train)
    return train


def _loader(source, config, stats):
    """load(i) -> (uint8 image, True), or (a blank, False) for an unreadable
    image, which `stats` counts; DataError after too many in a row."""
    blank = np.zeros((config.resolution, config.resolution, 3), np.uint8)
    limit = max(MIN_FAILURE_STREAK, 2 * config.batch_size)

    def load(i):  # runs in the pipeline's threads; Pillow releases the GIL while it works
        try:
            image, upscaled = source.load(int(i))
        except Exception as err:  # one bad file never stops training: count it
            stats.skip(source.name(int(i)), err)
            if stats.in_a_row >= limit:
                stats.fatal = (f"the last {stats.in_a_row} images of {source.path} could "
                               f"not be read (last: {source.name(int(i))}: {err}); is the "
                               "data still there? Training stopped; the last checkpoint "
                               "is kept and the same command resumes from it")
                raise DataError(stats.fatal)
            return blank, False
        stats.in_a_row = 0
        if upscaled:
            stats.upscale(source.name(int(i)), config.resolution)
        return image, True

    return load


def _probe(source, train):
    """Decode the first few training images now: a set of which none can be
    read is a one-line error here, not a pipeline that never yields."""
    first_error = None
    for i in train[:_PROBE]:
        try:
            source.load(int(i))
            return
        except Exception as err:
            first_error = first_error or f"{source.name(i)}: {err}"
    raise DataError(f"none of the first {min(_PROBE, len(train))} training images of "
                    f"{source.path} could be read (first: {first_error})")
