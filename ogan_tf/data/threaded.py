"""The input pipeline where TensorFlow is not installed: the same stream as
pipeline.py's tf.data one, made by Python threads.

Used on KERAS_BACKEND=jax when `import tensorflow` fails (a GPU machine
with JAX alone, as benchmarks/run_gpu.sh's): shuffled, repeated, unreadable
images dropped, float32 batches in [-1, 1] of exactly `batch_size` images,
decoded ahead of the step in a pool of threads (Source.load and Pillow
release the GIL) and handed to Keras' fit as a Python generator. Only the
order of the images differs from tf.data's (another shuffle).
"""

import collections
import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

AHEAD_BATCHES = 4  # batches decoded ahead of the step (tf.data: AUTOTUNE)


def shuffled_forever(indices, seed):
    """indices in a new random order each pass, without end."""
    rng = np.random.default_rng(seed)
    while True:
        yield from rng.permutation(indices)


def memory_batches(train, batch_size, seed, finish):
    """Endless batches of an in-memory uint8 array, reshuffled each pass."""
    rng = np.random.default_rng(seed)
    usable = len(train) - len(train) % batch_size
    while True:
        order = rng.permutation(len(train))[:usable]
        for at in range(0, usable, batch_size):
            yield finish(train[order[at:at + batch_size]])


def threaded_batches(indices, load, batch_size, seed, finish, workers=None):
    """Endless batches of finish(stacked images); load(i) -> (image, ok)
    runs in a pool of threads, images with ok False are dropped. An
    exception in load ends the stream: the generator raises it."""
    out = queue.Queue(maxsize=AHEAD_BATCHES)
    stop = threading.Event()
    producer = threading.Thread(
        target=_produce, daemon=True, name="ogan-input",
        args=(indices, load, batch_size, seed, finish, workers or os.cpu_count() or 1, out,
              stop))
    producer.start()
    try:
        while True:
            item = out.get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:  # the consumer is done (fit ended, or the generator was closed)
        stop.set()


def _produce(indices, load, batch_size, seed, finish, workers, out, stop):
    try:
        with ThreadPoolExecutor(workers, thread_name_prefix="ogan-decode") as pool:
            order = shuffled_forever(indices, seed)
            pending = collections.deque()
            batch = []
            while not stop.is_set():
                while len(pending) < AHEAD_BATCHES * batch_size:
                    pending.append(pool.submit(load, int(next(order))))
                image, ok = pending.popleft().result()
                if ok:
                    batch.append(image)
                if len(batch) == batch_size:
                    _put(out, finish(np.stack(batch)), stop)
                    batch = []
            for future in pending:
                future.cancel()
    except BaseException as err:  # handed to the consumer, raised there
        _put(out, err, stop)


def _put(out, item, stop):
    """out.put(item), giving up once the consumer has stopped."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.1)
            return
        except queue.Full:
            continue
