"""Reference statistics of the real images, computed once per data set.

FID and KID compare samples with the features of real images; StyleGAN's
``fid50k_full`` uses every training image. Those features are the slow half
of an evaluation, so they are computed once per (data set, resolution,
network, count) and kept in one file per data set, reused by every
evaluation of every run on it:

  beside the data   ``<folder>/.ogan_fid/<name>.npz`` for a folder or an LMDB
                    folder; ``<its folder>/.ogan_fid/<stem>.npz`` for a zip
                    or TFRecords (a hidden folder: no Source lists it)
  else              ``<runs-dir>/fid_reference/<name>-<hash>.npz``: the
                    generated shapes, and data whose folder is read-only

The file holds mu, sigma and sigma's square root (FID), the features (KID)
and its key, a JSON text naming the data set, its image count, resolution,
crop, the network (name and sha256) and the count. A file whose key
differs (another network, resolution or count, a data set with another
image count) is recomputed with a note and replaced; writes are atomic, so
a stopped computation leaves the old file.
"""

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ..errors import DataError, first_line
from ..messages import say
from ..runs.files import atomic_write
from .feature_distances import covariance_sqrt, gaussian_stats

CACHE_FOLDER = ".ogan_fid"
RUNS_FOLDER = "fid_reference"
KEY_VERSION = 1
_ORDER_SEED = 20190405  # which training images a count below the whole set takes
BATCH = 100  # images read and featurised at a time


class Reference:
    """mu (d,), sigma (d, d), its square root and the features (count, d)
    of the real images (the root is FID's costly half: computed once)."""

    def __init__(self, mu, sigma, sqrt_sigma, features, path=None):
        self.mu, self.sigma, self.sqrt_sigma = mu, sigma, sqrt_sigma
        self.features, self.path = features, path

    @classmethod
    def of(cls, features):
        return cls(*gaussian_stats(features), covariance_sqrt(features), features)

    @property
    def count(self):
        return len(self.features)


def reference_key(source, config, network, count):
    """What a cached file must match (a dict; stored as JSON text)."""
    return {"version": KEY_VERSION, "data": source.describe(), "images_in_set": len(source),
            "seed": getattr(source, "seed", None), "resolution": config.resolution,
            "crop_max": config.crop_max, "network": network.name,
            "network_sha256": network.sha256, "count": count}


def cache_paths(source, runs_dir):
    """(beside the data or None, under runs_dir): where the file is looked for."""
    if source.kind == "shapes":  # generated: named by its settings, not a path
        tag = hashlib.sha256(f"{source.size} {source.seed}".encode()).hexdigest()[:10]
        return None, Path(runs_dir) / RUNS_FOLDER / f"shapes-{tag}.npz"
    tag = hashlib.sha256(str(source.path.resolve()).encode()).hexdigest()[:10]
    fallback = Path(runs_dir) / RUNS_FOLDER / f"{source.path.stem}-{tag}.npz"
    folder = source.path if source.path.is_dir() else source.path.parent
    return folder / CACHE_FOLDER / f"{source.path.stem}.npz", fallback


def read_reference(path, key, log=None):
    """The Reference cached at path for key, or None (missing, other key, unreadable)."""
    if path is None or not Path(path).is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as saved:
            found = json.loads(str(saved["key"]))
            if found == key:
                return Reference(saved["mu"], saved["sigma"], saved["sqrt_sigma"],
                                 saved["features"], path)
    except (OSError, ValueError, KeyError) as err:
        if log:
            log(f"note: {path} is unreadable ({first_line(err)}); recomputing it")
        return None
    if log:
        changed = ", ".join(f"{k} {found.get(k)!r} (now {v!r})" for k, v in key.items()
                            if found.get(k) != v)
        log(f"note: the reference statistics in {path} are for another setting ({changed}); "
            "recomputing them")
    return None


def write_reference(path, key, reference):
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: np.savez(
        tmp, key=np.array(json.dumps(key, sort_keys=True)), mu=reference.mu,
        sigma=reference.sigma, sqrt_sigma=reference.sqrt_sigma, features=reference.features),
        expected_size=reference.features.nbytes + 2 * reference.sigma.nbytes)
    reference.path = path


def reference_indices(source, count):
    """The training images the reference uses: all of them (count None or
    0), else a fixed random `count` of them."""
    train = np.asarray(source.train_indices)
    if not count or count >= len(train):
        return train
    return np.sort(np.random.default_rng(_ORDER_SEED).permutation(train)[:count])


def real_features(source, indices, network, log=None):
    """Features of the source's items at indices, batch by batch; unreadable
    items are passed over (counted in a note)."""
    out, skipped = [], 0
    for lo in range(0, len(indices), BATCH):
        chunk = indices[lo:lo + BATCH]
        if source.in_memory:
            images = source.load_many(chunk)
        else:
            loaded = []
            for i in chunk:
                try:
                    loaded.append(source.load(int(i))[0])
                except Exception:  # a bad file: passed over, as in training
                    skipped += 1
            if not loaded:
                continue
            images = np.stack(loaded)
        out.append(np.asarray(network.features(images), np.float32))
    if not out:
        raise DataError(f"none of the {len(indices)} reference images of {source.path} "
                        "could be read")
    if skipped and log:
        log(f"note: {skipped} unreadable image(s) of {source.path} passed over")
    return np.concatenate(out)


def reference_stats(source, config, network, count, runs_dir, log=say):
    """The Reference of config's data set for network: read from its cache,
    else computed and cached (beside the data where it can be written)."""
    indices = reference_indices(source, count)
    key = reference_key(source, config, network, len(indices))
    beside, fallback = cache_paths(source, runs_dir)
    for path in (beside, fallback):
        found = read_reference(path, key, log)
        if found is not None:
            if log:
                log(f"reference statistics of {found.count} real images from {path}")
            return found
    if log:
        log(f"reference statistics: {network.name} features of {len(indices)} real "
            f"images of {source.describe()} (once; cached)")
    features = real_features(source, indices, network, log)
    reference = Reference.of(features)
    if beside is not None and os.access(_existing(beside.parent), os.W_OK):
        try:
            write_reference(beside, key, reference)
            return reference
        except OSError as err:
            if log:
                log(f"note: cannot write {beside} ({first_line(err)}); caching in {fallback}")
    write_reference(fallback, key, reference)
    return reference


def _existing(path):
    """path, or the nearest folder above it that exists."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
