"""The files of the latent tools: direction files, attribute tables and
image folders (the cache of an index folder's codes is cache.py).

A direction file is a float32 (z_dim,) unit vector saved with np.save
(``smiling.npy``) and a JSON sidecar beside it (``smiling.json``): which run
and step it was found on, z_dim, the counts and the held-out score of its
read-out. Any (z_dim,) .npy loads as a direction (scaled to unit length);
the sidecar is optional. So do the field's files: InterFaceGAN's boundaries
are (1, d) arrays, GANSpace's components and a stack of directions (k, d)
arrays, of which ``row`` picks one (needed when k > 1).
"""

import csv
import io
import json
from pathlib import Path

import numpy as np

from ..data import stylegan_zip
from ..data.sources import FolderSource
from ..errors import DataError, OganError, first_line
from ..runs.files import atomic_write, write_text
from .fit import DirectionError


class LabelError(OganError):
    """An attribute table that cannot be read or lacks the attribute."""


# Direction files --------------------------------------------------------------------
class Direction:
    """A unit vector in code space and what is known of it (info: run, step,
    z_dim, attribute, counts, held-out score; see fit.find_direction)."""

    def __init__(self, vector, info=None):
        self.vector = np.asarray(vector, np.float32)
        self.info = dict(info or {})

    def save(self, path):
        """Write path (.npy) and its JSON sidecar; returns path."""
        return save_direction(path, self.vector, self.info)

    def __repr__(self):
        return f"Direction({self.info.get('attribute', '?')!r}, z_dim={len(self.vector)})"


def sidecar(path):
    """The JSON beside a direction file: smiling.npy -> smiling.json."""
    return Path(path).with_suffix(".json")


def save_direction(path, vector, info):
    """Write vector (float32) to path (.npy) and info to its sidecar, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    vector = np.asarray(vector, np.float32)
    atomic_write(path, lambda tmp: np.save(tmp, vector))
    write_text(sidecar(path), json.dumps(info, indent=2) + "\n")
    return path


def _one_vector(vector, path, row, found_on):
    """The (d,) vector of a (d,), (1, d) or (k, d) array (row of k > 1)."""
    if vector.ndim == 2 and (row is not None or len(vector) == 1):
        row = 0 if row is None else row
        if not -len(vector) <= row < len(vector):
            raise DirectionError(f"direction {path} has {len(vector)} rows; --row {row} is "
                                 f"not one of 0..{len(vector) - 1}")
        return vector[row]
    if vector.ndim == 2:
        raise DirectionError(f"direction {path} has shape {vector.shape}{found_on}: "
                             f"{len(vector)} directions; pick one with --row N "
                             f"(0..{len(vector) - 1})")
    if vector.ndim != 1:
        raise DirectionError(f"direction {path} has shape {vector.shape}{found_on}; "
                             "a direction is one vector (z_dim,), (1, z_dim), or rows "
                             "(k, z_dim) with --row")
    return vector


def save_principal_axes(folder, axes, about):
    """Each principal axis (a dict from OganModel.principal) as a direction
    file pc<i>.npy in `folder`, for `ogan-tf edit --direction`; their paths.
    about: the model's run, step, weights and z_dim (OganModel.about)."""
    paths = []
    for i, (axis, std, share) in enumerate(zip(axes["axes"], axes["std"], axes["explained"])):
        paths.append(save_direction(Path(folder) / f"pc{i + 1}.npy", axis, {
            "kind": "principal axis", "attribute": f"pc{i + 1}", **about,
            "source": axes["source"], "count": axes["count"], "std": float(std),
            "explained": float(share)}))
    return paths


def load_direction(path, z_dim=None, row=None):
    """(unit float32 (z_dim,) vector, info from the sidecar or {}).

    The file holds a (z_dim,) vector, a (1, z_dim) one (InterFaceGAN), or
    rows (k, z_dim) (GANSpace's components), of which `row` is taken.
    DirectionError when the file is missing or unreadable, not one vector,
    not finite, zero, or of another length than z_dim (when given).
    """
    path = Path(path)
    try:
        vector = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DirectionError(f"direction {path} is not a readable .npy file "
                             f"({first_line(err)})") from None
    info = {}
    if sidecar(path).is_file():
        try:
            info = json.loads(sidecar(path).read_text())
        except ValueError as err:
            raise DirectionError(f"{sidecar(path)} is not valid JSON ({first_line(err)}); "
                                 "fix or delete it") from None
    return checked_direction(vector, path, z_dim, info, row), info


def read_direction_bytes(data, name, z_dim=None):
    """A direction .npy file's bytes (an upload) -> unit float32 (z_dim,);
    DirectionError as load_direction."""
    try:
        vector = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise DirectionError(f"direction {name} is not a readable .npy file "
                             f"({first_line(err)})") from None
    return checked_direction(vector, name, z_dim)


def checked_direction(vector, path, z_dim=None, info=None, row=None):
    """np.load's result -> unit float32 vector, or DirectionError saying why
    not; row: which row of a (k, z_dim) array (see load_direction)."""
    info = info or {}
    if not isinstance(vector, np.ndarray):
        raise DirectionError(f"direction {path} is an .npz archive; give a .npy vector")
    found_on = f" (found on run {info['run']!r})" if info.get("run") else ""
    vector = _one_vector(vector, path, row, found_on)
    if z_dim is not None and len(vector) != z_dim:
        raise DirectionError(
            f"direction {path} has {len(vector)} entries{found_on}, but this model's "
            f"z_dim is {z_dim}: a direction belongs to the model it was found on; "
            "find it again with `ogan-tf direction` on this run")
    try:
        norm = float(np.linalg.norm(vector.astype(np.float64)))
    except (TypeError, ValueError):
        norm = float("nan")
    if not np.isfinite(norm) or norm == 0:
        raise DirectionError(f"direction {path} is zero or not finite")
    return (vector / norm).astype(np.float32)


# Image folders -------------------------------------------------------------------
def list_images(folder):
    """Full paths of the image files under folder (recursive, sorted, as a
    training folder is listed); DataError when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder")
    return [str(folder / name) for name in FolderSource(folder, 8).files]


# Attribute tables ------------------------------------------------------------------
def _number(text, where):
    try:
        return float(text)
    except ValueError:
        raise LabelError(f"{where}: {text!r} is not a number") from None


def labels_folder(path):
    """Where a labels table's file names are: the table's folder, or the
    zip itself for a StyleGAN2-ADA dataset zip (its members' paths)."""
    path = Path(path)
    return path if path.suffix.lower() == ".zip" else path.parent


def _class_attribute(attribute, options, path, what):
    """The index an --attribute names ("3", "class3", "label3") among options;
    what: ("class", "classes") or ("label column", "label columns")."""
    listed = ", ".join(map(str, options[:8])) + (", ..." if len(options) > 8 else "")
    if attribute is None:
        raise LabelError(f"{path} has {len(options)} {what[1]} ({listed}); pick one with "
                         "--attribute N")
    text = str(attribute).lower().removeprefix("class").removeprefix("label")
    if not text.lstrip("-").isdigit() or int(text) not in options:
        raise LabelError(f"{path} has no {what[0]} {attribute!r}; it has: {listed}")
    return int(text)


def zip_labels(path, attribute=None):
    """(member names, values, attribute) of a StyleGAN2-ADA dataset zip's
    dataset.json: class labels give "class N against the rest" (two classes
    need no --attribute), vector labels their column N."""
    try:
        names, labels = stylegan_zip.labels_of(path)
    except DataError as err:
        raise LabelError(str(err)) from None
    if labels.ndim == 1:
        classes = [int(c) for c in np.unique(labels)]
        if attribute is None and len(classes) == 2:
            attribute = classes[1]
        chosen = _class_attribute(attribute, classes, path, ("class", "classes"))
        return names, (labels == chosen).astype(np.float64), f"class{chosen}"
    columns = list(range(labels.shape[1]))
    chosen = 0 if attribute is None and len(columns) == 1 else \
        _class_attribute(attribute, columns, path, ("label column", "label columns"))
    return names, labels[:, chosen], f"label{chosen}"


def read_table(path):
    """(attribute names, rows [(line number, [file, value per name])]) of an
    attribute table, values as text. Two formats:
      - CelebA's list_attr_celeba.txt (whitespace-separated): an optional
        first line with the row count, a line of attribute names, then
        "file v1 v2 ..." per image (1 / -1);
      - CSV (.csv): "file,value" rows, or a header "file,name1,name2,..."
        then rows.
    File names are as written (relative to the images folder). LabelError
    for an unreadable or empty table or a row of another width.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise LabelError(f"cannot read the labels {path} ({first_line(err)})") from None
    if path.suffix.lower() == ".csv":
        rows = [(i + 1, [cell.strip() for cell in row])
                for i, row in enumerate(csv.reader(text.splitlines()))
                if row and any(cell.strip() for cell in row)]
        if not rows:
            raise LabelError(f"{path} is empty")
        first = rows[0][1]
        try:
            [float(cell) for cell in first[1:]]
            names = [path.stem] if len(first) == 2 else [f"column{i}" for i in range(1, len(first))]
        except ValueError:
            names = first[1:]
            rows = rows[1:]
    else:
        lines = [(i + 1, line.split()) for i, line in enumerate(text.splitlines()) if line.strip()]
        if lines and len(lines[0][1]) == 1 and lines[0][1][0].isdigit():
            lines = lines[1:]  # the row count
        if not lines:
            raise LabelError(f"{path} has no attribute names")
        names = lines[0][1]
        rows = lines[1:]
    for number, row in rows:
        if len(row) != len(names) + 1:
            raise LabelError(f"{path} line {number} has {len(row)} fields, expected "
                             f"{len(names) + 1} (a file name and {len(names)} value(s))")
    if not rows:
        raise LabelError(f"{path} has no rows of labels")
    return names, rows


def pick_attribute(path, names, attribute=None):
    """The column of `attribute` among a table's names (the only one when
    None); LabelError naming the close match or the names there are."""
    if attribute is None:
        if len(names) != 1:
            raise LabelError(f"{path} has {len(names)} attributes; pick one with --attribute "
                             f"(e.g. {', '.join(names[:5])}{', ...' if len(names) > 5 else ''})")
        attribute = names[0]
    if attribute not in names:
        close = [n for n in names if n.lower() == attribute.lower()]
        hint = f"did you mean {close[0]}?" if close else (
            f"it has: {', '.join(names[:8])}{', ...' if len(names) > 8 else ''}")
        raise LabelError(f"{path} has no attribute {attribute!r}; {hint}")
    return names.index(attribute) + 1


def read_labels(path, attribute=None):
    """(file names, values (n,) float64, attribute name) of one attribute of
    a table (read_table's formats; attribute: optional with one column) or
    of a StyleGAN2-ADA dataset zip's labels (zip_labels). File names are
    relative to labels_folder(path)."""
    if Path(path).suffix.lower() == ".zip":
        return zip_labels(path, attribute)
    names, rows = read_table(path)
    column = pick_attribute(path, names, attribute)
    files = [row[0] for _, row in rows]
    values = [_number(row[column], f"{path} line {number}") for number, row in rows]
    return files, np.asarray(values, np.float64), names[column - 1]


# Choosing examples, writing pairs ----------------------------------------------------
def limited(values, limit, seed=0):
    """Indices of at most `limit` examples per class (two distinct values) or
    in all (a continuous attribute), a fixed random choice; all where 0."""
    if not limit:
        return np.arange(len(values))
    rng = np.random.default_rng(seed)
    distinct = np.unique(values)
    groups = [np.flatnonzero(values == v) for v in distinct] if len(distinct) == 2 \
        else [np.arange(len(values))]
    return np.sort(np.concatenate([rng.permutation(g)[:limit] for g in groups]))


def limited_paths(paths, limit, seed=0):
    """At most `limit` of `paths` (a fixed random choice, in their order)."""
    if not limit:
        return list(paths)
    order = np.random.default_rng(seed).permutation(len(paths))[:limit]
    return [paths[i] for i in np.sort(order)]


def write_pairs_csv(path, pairs):
    """(name_a, name_b, similarity) rows as a CSV with a header, atomically."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["file_a", "file_b", "similarity"])
    writer.writerows((a, b, f"{s:.6f}") for a, b, s in pairs)
    write_text(path, text.getvalue())

