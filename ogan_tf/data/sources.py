"""Every data set as one Source type: item i as a training-size uint8 image.

A Source is opened once (``open_source(config)``) with its resolution, crop
and decoding settings bound; it lists its items once (file paths, LMDB keys,
TFRecord offsets, or the generated shapes' factors) and returns item i with
``load(i)``. It also knows which items are held back for the grids and the
evaluation (``train_indices``, ``heldout(n)``). Reading and decoding release
the GIL, so tf.data can call ``load`` from several threads at once. Kinds:

  shapes     the offline default, generated in-process (data/shapes.py); its
             held-out images come from another seed, so there are any number
  folder     a folder of PNG, JPEG, WebP and BMP files, searched recursively;
             other files are ignored
  lmdb       an LMDB environment (LSUN's ``*_lmdb/`` folders) whose values are
             encoded images, WebP or JPEG, told apart by their magic numbers
  tfrecords  the StyleGAN / ProGAN multi-resolution set: ``<name>-rNN.tfrecords``
             holds 2^NN px images as tf.train.Example{shape: int64 [C, H, W],
             data: raw uint8 bytes}; the file for the resolution is read, else
             the next larger one (resized down)
  zip        a StyleGAN2-ADA dataset zip (its dataset_tool.py's output):
             image files plus dataset.json with their labels (data/stylegan_zip.py)
A set on disk holds back a fixed random min(256, n / 5) of its images
(the base class: data/source_base.py).
"""

import functools
import os
import re
import struct
from pathlib import Path

import numpy as np

from ..config import DISK_FORMATS
from ..errors import ConfigError, DataError
from . import images, shapes
from .source_base import Source, split  # noqa: F401  (split: the Source API, here too)
from .stylegan_zip import ZipSource

_TFRECORD_NAME = re.compile(r"^(?P<stem>.+)-r(?P<log2>\d\d)\.tfrecords$")
DATA_DIR_ENV = "OGAN_DATA_DIR"
DEFAULT_DATA_DIR = "~/ogan_data"
_SHAPES_HELDOUT_SEED_OFFSET = 1_000_003  # a different stream: never a training image


class ShapesSource(Source):
    """The generated shapes: `size` training images from `seed`; held-out
    images from another seed stream, never a training image."""

    kind = "shapes"
    in_memory = True

    def __init__(self, size, resolution, seed):
        super().__init__("(generated)", resolution)
        self.size, self.seed = size, seed
        self.factors = shapes.shape_factors(size, seed)

    def __len__(self):
        return self.size

    def name(self, i):
        return f"generated shape {i}"

    def load(self, i):
        return self.load_many([i])[0], False

    def load_many(self, indices):
        picked = {k: v[np.asarray(indices, int)] for k, v in self.factors.items()}
        return shapes.render_shapes(picked, self.resolution)

    def describe(self):
        return f"{self.size:,} generated shapes at {self.resolution} px"

    @property
    def train_indices(self):
        return np.arange(self.size)

    @property
    def heldout_count(self):
        return None

    def heldout(self, n):
        return shapes.make_shapes(n, self.resolution,
                                  self.seed + _SHAPES_HELDOUT_SEED_OFFSET)[0]


class FolderSource(Source):
    """Image files under a folder (recursive), sorted by relative path."""

    kind = "folder"

    def __init__(self, path, resolution, crop_max=0, jpeg_draft=False):
        super().__init__(path, resolution, crop_max, jpeg_draft)
        found, self.ignored = [], 0
        for root, dirs, names in os.walk(self.path, followlinks=True):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in names:
                if name.startswith("."):
                    continue
                if name.lower().endswith(images.EXTENSIONS):
                    found.append(os.path.relpath(os.path.join(root, name), self.path))
                else:
                    self.ignored += 1
        if not found:
            raise DataError(
                f"no images (PNG, JPEG, WebP, BMP) found in {self.path} or its subfolders; "
                "point DATA= (--data) at the folder that holds them"
            )
        self.files = np.array(sorted(found))

    def __len__(self):
        return len(self.files)

    def name(self, i):
        return str(self.path / self.files[i])

    def load(self, i):
        with open(self.path / self.files[i], "rb") as f:
            data = f.read()
        return images.load(data, self.resolution, self.crop_max, self.jpeg_draft)

    def describe(self):
        extra = f" ({self.ignored:,} other files ignored)" if self.ignored else ""
        return super().describe() + extra


@functools.lru_cache(maxsize=None)
def open_lmdb(path):
    """The read-only lmdb.Environment at path, opened once per process (lmdb
    refuses to open one environment twice in a process)."""
    import lmdb

    try:
        # readonly + lock=False: no lock file is written into the data set,
        # and reader threads need no slot in its lock table.
        return lmdb.open(str(path), readonly=True, lock=False, readahead=False,
                         meminit=False, subdir=True)
    except lmdb.Error as err:
        raise DataError(f"{path} is not a readable LMDB folder ({err})") from None


class LmdbSource(Source):
    """Values of an LMDB environment (LSUN): encoded image bytes, by sorted key."""

    kind = "LMDB"

    def __init__(self, path, resolution, crop_max=0, jpeg_draft=False):
        super().__init__(path, resolution, crop_max, jpeg_draft)
        self.env = open_lmdb(self.path)
        with self.env.begin() as txn:
            keys = list(txn.cursor().iternext(keys=True, values=False))
        if not keys:
            raise DataError(f"the LMDB {self.path} holds no entries")
        self.keys = np.array(keys, dtype=object)

    def __len__(self):
        return len(self.keys)

    def name(self, i):
        return f"{self.path} key {self.keys[i].decode(errors='replace')}"

    def load(self, i):
        with self.env.begin() as txn:  # one cheap read transaction per thread and call
            data = txn.get(self.keys[i])
        if data is None:
            raise images.BadImage("key vanished from the LMDB")
        return images.load(data, self.resolution, self.crop_max, self.jpeg_draft)


def tfrecord_files(folder):
    """{log2 resolution: path} of the multi-resolution TFRecords in folder."""
    found = {}
    for path in sorted(Path(folder).glob("*.tfrecords")):
        match = _TFRECORD_NAME.match(path.name)
        if match:
            found.setdefault(int(match["log2"]), path)
    return found


def _scan_tfrecord(path):
    """Offsets and lengths of the records of a TFRecord file, from its length
    headers (8-byte length, 4-byte CRC, data, 4-byte CRC); a truncated tail
    ends the scan. Returns (offsets, lengths, truncated)."""
    offsets, lengths = [], []
    size = path.stat().st_size
    with open(path, "rb") as f:
        pos = 0
        while pos + 12 <= size:
            f.seek(pos)
            (length,) = struct.unpack("<Q", f.read(8))
            if pos + 16 + length > size:
                return offsets, lengths, True
            offsets.append(pos + 12)
            lengths.append(length)
            pos += 16 + length
    return offsets, lengths, pos != size


class TFRecordSource(Source):
    """One resolution's file of a StyleGAN/ProGAN multi-resolution set."""

    kind = "TFRecords"

    def __init__(self, path, resolution, crop_max=0, jpeg_draft=False):
        path = Path(path)
        folder = path.parent if path.is_file() else path
        files = tfrecord_files(folder)
        if not files:
            raise DataError(f"no <name>-rNN.tfrecords files in {folder}")
        want = int(np.log2(resolution))
        larger = [r for r in sorted(files) if r >= want]
        if not larger:
            have = ", ".join(f"{2**r} px" for r in sorted(files))
            raise DataError(
                f"the TFRecords in {folder} go up to {2**max(files)} px ({have}); "
                f"train at --resolution {2**max(files)} (RES=) or lower"
            )
        super().__init__(files[larger[0]], resolution, crop_max, jpeg_draft)
        self.file_resolution = 2 ** larger[0]
        offsets, lengths, self.truncated = _scan_tfrecord(self.path)
        if not offsets:
            raise DataError(f"{self.path} holds no complete record")
        self.offsets = np.array(offsets, np.int64)
        self.lengths = np.array(lengths, np.int64)
        self._fd = os.open(self.path, os.O_RDONLY)

    def __len__(self):
        return len(self.offsets)

    def name(self, i):
        return f"{self.path} record {i}"

    def load(self, i):
        # protobuf's parser, loaded with the first record read (TensorFlow is
        # installed on every backend, but a shapes run never needs it)
        from tensorflow.core.example import example_pb2

        record = os.pread(self._fd, int(self.lengths[i]), int(self.offsets[i]))
        try:
            feature = example_pb2.Example.FromString(record).features.feature
            shape = list(feature["shape"].int64_list.value)
            data = feature["data"].bytes_list.value[0]
        except Exception as err:
            raise images.BadImage(f"not a tf.train.Example with shape and data ({err})") from None
        if len(shape) != 3 or len(data) != int(np.prod(shape)):
            raise images.BadImage(f"shape {shape} does not match {len(data)} data bytes")
        chw = np.frombuffer(data, np.uint8).reshape(shape)
        return images.load_array(chw.transpose(1, 2, 0), self.resolution, self.crop_max)

    def describe(self):
        note = " (a truncated last record is ignored)" if self.truncated else ""
        return (f"{len(self):,} images of {self.file_resolution} px in TFRecords "
                f"{self.path}{note}")


def detect_format(path):
    """'lmdb', 'tfrecords', 'zip' or 'folder' for what is at path."""
    path = Path(path)
    if path.is_file():
        if path.name.endswith(".tfrecords"):
            return "tfrecords"
        if path.suffix.lower() == ".zip":
            return "zip"
        if path.name == "data.mdb":
            return "lmdb"
        raise DataError(f"{path} is a file; give the folder that holds the data set "
                        "(or a StyleGAN2-ADA dataset .zip, a .tfrecords file)")
    if (path / "data.mdb").is_file():
        return "lmdb"
    if tfrecord_files(path):
        return "tfrecords"
    return "folder"


def data_root(config):
    """The folder preset data paths are relative to: config.data_dir, else
    $OGAN_DATA_DIR, else ~/ogan_data."""
    return Path(config.data_dir or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).expanduser()


def data_location(config):
    """Where config's data set on disk is looked for."""
    path = Path(config.data_path).expanduser()
    return path if path.is_absolute() else data_root(config) / path


def open_source(config):
    """The Source of config's data set, opened once per process and setting
    (an LMDB's key list, a folder's file list are read once). Raises
    ConfigError for settings that name no data and DataError for data that
    is missing or unreadable, so it also serves as the data set check."""
    if not config.on_disk:
        return _shapes(config.dataset_size, config.resolution, config.seed)
    if not config.data_path:
        raise ConfigError(f"preset {config.preset!r} reads images from disk but has no "
                          "data_path: give the data as a path, DATA=path/to/images/ "
                          "(--data path/to/images/)")
    location = data_location(config)
    if not location.exists():
        message = f"no data at {location}: {config.data_source or 'check the path'}"
        if not Path(config.data_path).expanduser().is_absolute():
            message += (f"; or point DATA_DIR= (--data-dir, ${DATA_DIR_ENV}) at the "
                        f"folder that holds {config.data_path}")
        raise DataError(message)
    return open_path(str(location), config.resolution, config.dataset, config.crop_max,
                     config.jpeg_draft)


@functools.lru_cache(maxsize=2)
def _shapes(size, resolution, seed):
    return ShapesSource(size, resolution, seed)


@functools.lru_cache(maxsize=8)
def open_path(path, resolution, kind="auto", crop_max=0, jpeg_draft=False):
    """The Source of format `kind` ('auto' detects it) at `path`; DataError
    when there is none."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"no data at {path}")
    if kind == "auto":
        kind = detect_format(path)
    bound = (resolution, crop_max, jpeg_draft)
    if kind == "lmdb":
        return LmdbSource(path.parent if path.is_file() else path, *bound)
    if kind == "tfrecords":
        return TFRecordSource(path, *bound)
    if kind == "folder":
        return FolderSource(path, *bound)
    if kind == "zip":
        return ZipSource(path, *bound)
    raise DataError(f"unknown data format {kind!r}; use one of: {', '.join(DISK_FORMATS)}")
