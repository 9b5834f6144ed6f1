"""StyleGAN2-ADA dataset zips as a Source, and their labels.

NVIDIA's ``dataset_tool.py`` (stylegan2-ada-pytorch, stylegan3) writes a
data set as one uncompressed zip: the images (PNG, in folders of 1000:
``00000/img00000000.png``) and ``dataset.json`` at the top,
``{"labels": [["00000/img00000000.png", 6], ...]}`` (or ``"labels": null``).
A label is a class index (an int) or a vector of numbers. As its
``training/dataset.py`` does, the images are every member whose name ends
in an image extension, sorted by name; dataset.json is optional.

A path inside a zip, ``set.zip/00000/img00000000.png``, names one member:
``read_bytes`` reads it, so the labels' file names work wherever an image
path does (``ogan-tf direction --labels set.zip``).
"""

import functools
import json
import threading
import zipfile
from pathlib import Path

import numpy as np

from ..errors import DataError, first_line
from . import images
from .source_base import Source

LABELS_FILE = "dataset.json"


def open_zip(path):
    """A zipfile.ZipFile, or DataError saying why not."""
    try:
        return zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as err:
        raise DataError(f"{path} is not a readable zip ({first_line(err)})") from None


def image_members(archive):
    """The image members' names of an open zip, sorted (directories and
    other files left out)."""
    return sorted(n for n in archive.namelist()
                  if not n.endswith("/") and n.lower().endswith(images.EXTENSIONS))


def read_labels(archive, path):
    """{member name: label} from dataset.json, or {} when it has none.
    DataError for a dataset.json that is not the tool's format."""
    if LABELS_FILE not in archive.namelist():
        return {}
    try:
        labels = json.loads(archive.read(LABELS_FILE)).get("labels")
        return {str(name).replace("\\", "/"): label for name, label in (labels or [])}
    except (ValueError, TypeError, AttributeError) as err:
        raise DataError(f"{path}: {LABELS_FILE} is not {{\"labels\": [[file, label], ...]}} "
                        f"({first_line(err)})") from None


class ZipSource(Source):
    """The images of a StyleGAN2-ADA dataset zip, sorted by member name."""

    kind = "zip"

    def __init__(self, path, resolution, crop_max=0, jpeg_draft=False):
        super().__init__(path, resolution, crop_max, jpeg_draft)
        with open_zip(self.path) as archive:
            self.members = np.array(image_members(archive))
            self.labels = read_labels(archive, self.path)
        if not len(self.members):
            raise DataError(f"the zip {self.path} holds no images (PNG, JPEG, WebP, BMP); "
                            "a StyleGAN2-ADA dataset zip holds the images and dataset.json")
        self._local = threading.local()  # one open zip per reading thread

    def _archive(self):
        if getattr(self._local, "archive", None) is None:
            self._local.archive = open_zip(self.path)
        return self._local.archive

    def __len__(self):
        return len(self.members)

    def name(self, i):
        return f"{self.path}/{self.members[i]}"

    def load(self, i):
        try:
            data = self._archive().read(self.members[i])
        except (zipfile.BadZipFile, KeyError) as err:  # a bad CRC, a cut archive
            raise images.BadImage(first_line(err)) from None
        return images.load(data, self.resolution, self.crop_max, self.jpeg_draft)

    def describe(self):
        labelled = f", {len(self.labels):,} labelled" if self.labels else ""
        return f"{len(self):,} images in zip {self.path}{labelled}"


def split_member(path):
    """(zip file, member name) of a path inside a zip, or None for any other path."""
    path = Path(path)
    for parent in path.parents:
        if parent.suffix.lower() == ".zip" and parent.is_file():
            return parent, path.relative_to(parent).as_posix()
    return None


_READ_LOCK = threading.Lock()  # one member read at a time from a shared open zip


@functools.lru_cache(maxsize=4)
def _cached_zip(path):
    return open_zip(path)


def read_bytes(path):
    """The bytes of a file, or of a member of a zip (``set.zip/00000/img.png``);
    OSError when neither exists."""
    inside = split_member(path)
    if inside is None:
        return Path(path).read_bytes()
    archive, member = inside
    try:
        with _READ_LOCK:
            return _cached_zip(archive).read(member)
    except KeyError:
        raise FileNotFoundError(f"no member {member} in {archive}") from None
    except DataError as err:
        raise OSError(str(err)) from None


def labels_of(path):
    """(member names, labels) of a dataset zip's labelled images, in the
    images' order: labels an int (n,) array of class indices, or a float
    (n, k) array of vectors. DataError when it has no labels."""
    with open_zip(path) as archive:
        members = image_members(archive)
        labels = read_labels(archive, path)
    names = [m for m in members if m in labels]
    if not names:
        raise DataError(f"{path} has no labels ({LABELS_FILE} missing, null, or naming "
                        "none of its images)")
    values = [labels[m] for m in names]
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return names, np.asarray(values, np.int64)
    try:
        array = np.asarray(values, np.float64).reshape(len(values), -1)
    except (ValueError, TypeError):
        raise DataError(f"{path}: the labels in {LABELS_FILE} are neither class indices "
                        "nor vectors of one length") from None
    return names, array
