"""Input pipelines: the offline default data set and image sets on disk.

Data sets by `config.dataset`:
  shapes      generated in-process (below); nothing downloaded or committed
  folder, lmdb, tfrecords, auto
              read from disk in their own formats (sources.py; "auto" tells
              which from what is at the path), each image cropped and resized
              as the author (images.py), in parallel tf.data threads

"shapes" is generated deterministically in-process (nothing downloaded,
nothing committed): one anti-aliased shape on a plain background, with five
independent factors a viewer can judge by eye in samples, reconstructions
and interpolations:
  shape       circle, square, triangle, cross
  colour      any hue, saturated and bright
  position    centre x and y in [0.34, 0.66] of the image
  size        half-extent in [0.18, 0.31] of the image
  background  any hue, desaturated and dark (value 0.15 - 0.45)
Images held back for the grids come from a different seed, so they are
never trained on.
"""

import os
import re
import threading
from pathlib import Path

import numpy as np

from .errors import ConfigError, DataError

SHAPES = ("circle", "square", "triangle", "cross")
_CHUNK = 2048  # images rendered at once; bounds memory to ~100 MB at 64 px


def _hsv_to_rgb(h, s, v):
    """Vectorised HSV -> RGB, all in [0, 1]; (N,) each -> (N, 3)."""
    i = np.floor(h * 6.0).astype(int) % 6
    f = h * 6.0 - np.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    table = np.stack(
        [
            np.stack([v, t, p], -1),
            np.stack([q, v, p], -1),
            np.stack([p, v, t], -1),
            np.stack([p, q, v], -1),
            np.stack([t, p, v], -1),
            np.stack([v, p, q], -1),
        ],
        1,
    )
    return table[np.arange(len(h)), i]


def shape_factors(n, seed):
    """Draw the factors of n images; a dict of (n,) arrays, reproducible."""
    rng = np.random.default_rng(seed)
    return {
        "shape": rng.integers(0, len(SHAPES), n),
        "hue": rng.uniform(0, 1, n),
        "x": rng.uniform(0.34, 0.66, n),
        "y": rng.uniform(0.34, 0.66, n),
        "size": rng.uniform(0.18, 0.31, n),
        "bg_hue": rng.uniform(0, 1, n),
        "bg_value": rng.uniform(0.15, 0.45, n),
    }


def _signed_distance(shape, dx, dy, size):
    """Signed distance (image units, < 0 inside) of each pixel to the shape."""
    s = size[:, None, None]
    circle = np.hypot(dx, dy) - s
    square = np.maximum(np.abs(dx), np.abs(dy)) - 0.85 * s
    # Equilateral triangle, apex up (y grows downwards): three half-planes.
    angles = np.deg2rad([90.0, 210.0, 330.0])
    planes = [np.cos(a) * dx + np.sin(a) * dy for a in angles]
    triangle = np.max(planes, axis=0) - 0.55 * s
    arm = 0.35 * s
    cross = np.minimum(
        np.maximum(np.abs(dx) - s, np.abs(dy) - arm),
        np.maximum(np.abs(dx) - arm, np.abs(dy) - s),
    )
    return np.choose(shape[:, None, None], [circle, square, triangle, cross])


def render_shapes(factors, resolution):
    """Render factors (as from shape_factors) to (n, res, res, 3) uint8."""
    n = len(factors["shape"])
    centres = (np.arange(resolution) + 0.5) / resolution
    gy, gx = np.meshgrid(centres, centres, indexing="ij")
    out = np.empty((n, resolution, resolution, 3), np.uint8)
    fg = _hsv_to_rgb(factors["hue"], np.full(n, 0.85), np.full(n, 0.95))
    bg = _hsv_to_rgb(factors["bg_hue"], np.full(n, 0.5), factors["bg_value"])
    for lo in range(0, n, _CHUNK):
        sl = slice(lo, min(lo + _CHUNK, n))
        dx = gx[None] - factors["x"][sl, None, None]
        dy = gy[None] - factors["y"][sl, None, None]
        dist = _signed_distance(factors["shape"][sl], dx, dy, factors["size"][sl])
        # Pixel coverage from the distance: a one-pixel anti-aliasing ramp.
        alpha = np.clip(0.5 - dist * resolution, 0.0, 1.0)[..., None]
        rgb = bg[sl, None, None] * (1 - alpha) + fg[sl, None, None] * alpha
        out[sl] = np.round(rgb * 255).astype(np.uint8)
    return out


def make_shapes(n, resolution, seed):
    """n shapes images (uint8, (n, res, res, 3)) and their factors."""
    factors = shape_factors(n, seed)
    return render_shapes(factors, resolution), factors


# Data sets by name -> function(config, n, seed) returning uint8 images.
def _shapes(config, n, seed):
    return make_shapes(n, config.resolution, seed)[0]


DATASETS = {"shapes": _shapes}
ON_DISK = ("auto", "folder", "lmdb", "tfrecords")  # formats read by sources.py
_HELDOUT_SEED_OFFSET = 1_000_003  # a different stream: never a training image

DATA_DIR_ENV = "OGAN_DATA_DIR"
DEFAULT_DATA_DIR = "~/ogan_data"
HELDOUT_MAX = 256  # images of a set on disk held back for the grids
_HELDOUT_SEED = 20190404  # fixed: the held-out images are a property of the data set
_PROBE = 32  # training images decoded up front to catch a set nobody can read
# Unreadable images in a row after which training stops with an error (the
# data went away mid-run: an unmounted disk, moved files) instead of a
# pipeline that filters out every image forever and never yields a batch.
MIN_FAILURE_STREAK = 1000


def data_root(config):
    """The folder preset data paths are relative to: config.data_dir, else
    $OGAN_DATA_DIR, else ~/ogan_data."""
    return Path(config.data_dir or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).expanduser()


def data_location(config):
    """Where config's data set is looked for."""
    path = Path(config.data_path).expanduser()
    return path if path.is_absolute() else data_root(config) / path


def is_data_path(arg):
    """True when a --data value names a path rather than a preset: it has a
    '/', starts with '~' or '.', or is an existing folder no preset is named."""
    from .config import preset_names

    if "/" in arg or os.sep in arg or arg.startswith(("~", ".")):
        return True
    return Path(arg).is_dir() and arg not in preset_names()


def run_name_for_path(path):
    """A run name for a data path: its last part, in letters, digits, '.', '-', '_'."""
    name = Path(os.path.normpath(os.path.expanduser(path))).name
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".")
    return name or "data"


def image_source(config):
    """What config.dataset reads from: the generating function of a data set
    made in-process (called (config, n, seed) -> uint8 images), or the opened
    sources.Source of a set on disk. Raises ConfigError for an unknown name
    and DataError for data that is missing or unreadable, so it also serves
    as the data set check."""
    if config.dataset in DATASETS:
        return DATASETS[config.dataset]
    if config.dataset not in ON_DISK:
        raise ConfigError(
            f"unknown dataset {config.dataset!r}; available: "
            f"{', '.join((*DATASETS, *ON_DISK))}"
        )
    from . import sources

    location = data_location(config)
    if not config.data_path:
        raise ConfigError(f"preset {config.preset!r} reads images from disk but has no "
                          "data_path: give the data as a path, DATA=path/to/images/ "
                          "(--data path/to/images/)")
    if not location.exists():
        message = f"no data at {location}: {config.data_source or 'check the path'}"
        if not Path(config.data_path).expanduser().is_absolute():
            message += (f"; or point DATA_DIR= (--data-dir, ${DATA_DIR_ENV}) at the "
                        f"folder that holds {config.data_path}")
        raise DataError(message)
    return sources.open_source(config.dataset, str(location), config.resolution)


def split(n):
    """(held-out indices, training indices) of a set of n images on disk: a
    fixed random min(HELDOUT_MAX, n // 5) (at least 1) are held back."""
    if n < 2:
        raise DataError(f"the data set has {n} image(s); it needs at least 2")
    held = min(HELDOUT_MAX, max(1, n // 5))
    order = np.random.default_rng(_HELDOUT_SEED).permutation(n)
    return np.sort(order[:held]), np.sort(order[held:])


def heldout_images(config, n=48):
    """n uint8 images kept out of training, for the grids."""
    source = image_source(config)
    if config.dataset in DATASETS:
        return source(config, n, config.seed + _HELDOUT_SEED_OFFSET)
    good, first_error = [], None
    for i in split(len(source))[0]:
        try:
            good.append(_load(source, config, i)[0])
        except Exception as err:  # a bad held-out file: take the next one
            first_error = first_error or f"{source.name(i)}: {err}"
        if len(good) == n:
            break
    if not good:
        raise DataError(f"none of the held-out images of {source.path} could be read "
                        f"(first: {first_error})")
    # A small set holds back fewer than n: the grids repeat them.
    return np.stack([good[k % len(good)] for k in range(n)])


def _load(source, config, i):
    return source.load(int(i), config.resolution, config.crop_max, config.jpeg_draft)


class DataStats:
    """Thread-safe counts of images skipped (unreadable) and upscaled
    (smaller than the resolution) by the input pipeline, counted each time
    they are read; the first few files of each kind are also logged by name."""

    WARN_FIRST = 3

    def __init__(self, log=print):
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


def training_dataset(config, stats=None, log=print, shard=(0, 1), batch_size=None):
    """Infinite, shuffled tf.data.Dataset of float32 batches in [-1, 1].

    stats: a DataStats that counts skipped and upscaled images (sets on disk).
    shard: (index, count): this pipeline reads training images index,
        index + count, ... only (one input pipeline of several under a
        distribution strategy: each reads its own share, none repeats another's).
    batch_size: images per batch (default config.batch_size, the global batch).
    """
    import tensorflow as tf  # the input pipeline is tf.data on every backend

    batch_size = batch_size or config.batch_size
    if config.dataset not in DATASETS:
        return _disk_dataset(config, stats or DataStats(log), log, shard, batch_size)
    index, count = shard
    images = image_source(config)(config, config.dataset_size, config.seed)[index::count]
    return (
        tf.data.Dataset.from_tensor_slices(images)
        .shuffle(len(images), seed=config.seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(batch_size, drop_remainder=True)
        .map(lambda x: tf.cast(x, tf.float32) / 127.5 - 1.0,
             num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def _disk_dataset(config, stats, log, shard, batch_size):
    import tensorflow as tf

    source = image_source(config)
    held, train = split(len(source))
    index, count = shard
    share = f" (input pipeline {index} of {count} reads every {count}th)" if count > 1 else ""
    log(f"data: {source.describe()}; {len(held):,} held out for the grids, "
        f"{len(train):,} for training{share}")
    train = train[index::count]
    if not len(train):
        raise DataError(f"{source.path} has too few training images to give each of "
                        f"{count} input pipelines one")
    _probe(source, config, train)
    res = config.resolution
    blank = np.zeros((res, res, 3), np.uint8)

    limit = max(MIN_FAILURE_STREAK, 2 * config.batch_size)

    def load(i):  # runs in tf.data's threads; Pillow releases the GIL while it works
        try:
            image, upscaled = _load(source, config, i)
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
            stats.upscale(source.name(int(i)), res)
        return image, True

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
        .batch(batch_size, drop_remainder=True)
        .map(lambda x: tf.cast(x, tf.float32) / 127.5 - 1.0,
             num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )


def _probe(source, config, train):
    """Decode the first few training images now: a set of which none can be
    read is a one-line error here, not a pipeline that never yields."""
    first_error = None
    for i in train[:_PROBE]:
        try:
            _load(source, config, i)
            return
        except Exception as err:
            first_error = first_error or f"{source.name(i)}: {err}"
    raise DataError(f"none of the first {min(_PROBE, len(train))} training images of "
                    f"{source.path} could be read (first: {first_error})")
