"""Image sets on disk, each read in its own format with random access by index.

A Source lists its items once (file paths, LMDB keys, TFRecord offsets) and
then returns item i as a training-size image with ``load(i, resolution,
crop_max, jpeg_draft)``; reading and decoding release the GIL, so tf.data can
call ``load`` from several threads at once. Formats:

  folder     a folder of PNG, JPEG, WebP and BMP files, searched recursively;
             other files are ignored
  lmdb       an LMDB environment (LSUN's ``*_lmdb/`` folders) whose values are
             encoded images, WebP or JPEG, told apart by their magic numbers
  tfrecords  the StyleGAN / ProGAN multi-resolution set: ``<name>-rNN.tfrecords``
             holds 2^NN px images as tf.train.Example{shape: int64 [C, H, W],
             data: raw uint8 bytes}; the file for the resolution is read, else
             the next larger one (resized down)
"""

import functools
import os
import re
import struct
from pathlib import Path

import numpy as np

from . import images
from .errors import DataError

_TFRECORD_NAME = re.compile(r"^(?P<stem>.+)-r(?P<log2>\d\d)\.tfrecords$")


class Source:
    kind = "?"

    def __init__(self, path):
        self.path = Path(path)

    def __len__(self):
        raise NotImplementedError

    def name(self, i):
        """What item i is called in a warning (a path, a key)."""
        raise NotImplementedError

    def load(self, i, resolution, crop_max=0, jpeg_draft=False):
        """Item i -> ((res, res, 3) uint8, upscaled); images.BadImage or
        OSError when it cannot be read."""
        raise NotImplementedError

    def describe(self):
        return f"{len(self):,} images in {self.kind} {self.path}"


class FolderSource(Source):
    """Image files under a folder (recursive), sorted by relative path."""

    kind = "folder"

    def __init__(self, path):
        super().__init__(path)
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

    def load(self, i, resolution, crop_max=0, jpeg_draft=False):
        with open(self.path / self.files[i], "rb") as f:
            data = f.read()
        return images.load(data, resolution, crop_max, jpeg_draft)

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

    def __init__(self, path):
        super().__init__(path)
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

    def load(self, i, resolution, crop_max=0, jpeg_draft=False):
        with self.env.begin() as txn:  # one cheap read transaction per thread and call
            data = txn.get(self.keys[i])
        if data is None:
            raise images.BadImage("key vanished from the LMDB")
        return images.load(data, resolution, crop_max, jpeg_draft)


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

    def __init__(self, path, resolution):
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
        super().__init__(files[larger[0]])
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

    def load(self, i, resolution, crop_max=0, jpeg_draft=False):
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
        return images.load_array(chw.transpose(1, 2, 0), resolution, crop_max)

    def describe(self):
        note = " (a truncated last record is ignored)" if self.truncated else ""
        return (f"{len(self):,} images of {self.file_resolution} px in TFRecords "
                f"{self.path}{note}")


FORMATS = ("folder", "lmdb", "tfrecords")


def detect_format(path):
    """'lmdb', 'tfrecords' or 'folder' for what is at path."""
    path = Path(path)
    if path.is_file():
        if path.name.endswith(".tfrecords"):
            return "tfrecords"
        if path.name == "data.mdb":
            return "lmdb"
        raise DataError(f"{path} is a file; give the folder that holds the data set")
    if (path / "data.mdb").is_file():
        return "lmdb"
    if tfrecord_files(path):
        return "tfrecords"
    return "folder"


@functools.lru_cache(maxsize=8)
def open_source(kind, path, resolution):
    """The Source of format `kind` ('auto' detects it) at path; opened once per
    process (an LMDB's key list is read once). Raises DataError."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"no data at {path}")
    if kind == "auto":
        kind = detect_format(path)
    if kind == "lmdb":
        return LmdbSource(path.parent if path.is_file() else path)
    if kind == "tfrecords":
        return TFRecordSource(path, resolution)
    if kind == "folder":
        return FolderSource(path)
    raise DataError(f"unknown data format {kind!r}; use one of: auto, {', '.join(FORMATS)}")
