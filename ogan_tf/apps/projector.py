"""The codes in TensorBoard's embedding projector: `ogan-tf projector`.

Writes into one folder what the projector reads (`tensorboard --logdir DIR`,
then the PROJECTOR tab):

    tensors.tsv              the codes N(E(x)), one image per row, tab-separated
    metadata.tsv             the file names (and labels from a table, with a header row)
    sprite.png               the images' thumbnails in a square grid, row by row
    projector_config.pbtxt   the embedding, with the three paths relative to it

Writing needs nothing beyond the base install; viewing needs the
tensorboard package (setup.cfg's `projector` extra, `pip install
'ogan-tf[projector]'`).
"""

from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import OganError
from ..inference.images import read_image
from ..latent import files as latent_files
from ..messages import say
from ..runs.files import atomic_write, write_text

CONFIG = "projector_config.pbtxt"
TENSORS, METADATA, SPRITE = "tensors.tsv", "metadata.tsv", "sprite.png"
TENSOR_NAME = "codes"
SPRITE_MAX = 8192  # the projector's largest sprite side (pixels)


def image_paths(items):
    """Image files from files and folders (a folder: its images, sorted); a
    file may be a member of a dataset zip (set.zip/00000/img.png)."""
    paths = []
    for item in items:
        if Path(item).is_dir():
            paths.extend(latent_files.list_images(item))
        else:
            paths.append(str(item))
    if not paths:
        raise OganError("no images given")
    return paths


def thumbnail_size(count, resolution):
    """The side of one thumbnail: the model's resolution, smaller where the
    square grid of `count` would pass SPRITE_MAX."""
    side = int(np.ceil(np.sqrt(count)))
    return max(1, min(resolution, SPRITE_MAX // side))


def sprite(thumbnails):
    """(n, t, t, 3) uint8 -> the square sprite, blank cells after the last."""
    n, t = len(thumbnails), thumbnails.shape[1]
    side = int(np.ceil(np.sqrt(n)))
    grid = np.zeros((side * side, t, t, 3), np.uint8)
    grid[:n] = thumbnails
    rows = grid.reshape(side, side, t, t, 3).transpose(0, 2, 1, 3, 4)  # (row, y, col, x, 3)
    return rows.reshape(side * t, side * t, 3)


def label_columns(paths, table, attributes=()):
    """(header names, [[value, ...] per path]) from an attribute table: the
    chosen attributes (default all). A path is matched by its name relative
    to the table's folder, else by its file name; unmatched paths get empty
    cells. Returns ([], None) without a table."""
    if table is None:
        return [], None
    names, rows = latent_files.read_table(table)
    columns = [latent_files.pick_attribute(table, names, a) for a in attributes] or \
        list(range(1, len(names) + 1))
    by_name = {row[0]: [row[c] for c in columns] for _, row in rows}
    base = Path(table).resolve().parent
    out = []
    for path in paths:
        full = Path(path).resolve()
        key = full.relative_to(base).as_posix() if full.is_relative_to(base) else full.name
        out.append(by_name.get(key, by_name.get(full.name)))
    missing = sum(v is None for v in out)
    if missing == len(out):
        raise OganError(f"none of the {len(out)} images is named in {table} (by its path "
                        "relative to the table's folder, or its file name)")
    blank = [""] * len(columns)
    return [names[c - 1] for c in columns], [v if v is not None else blank for v in out]


def _cell(text):
    """A metadata cell: tabs and new lines would break the table."""
    return str(text).replace("\t", " ").replace("\n", " ")


def _quoted(text):
    """A protobuf text-format string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_text(count, dim, thumb):
    """projector_config.pbtxt: one embedding, paths relative to the folder
    (the projector resolves them against the config's own folder). The text
    format of TensorBoard's ProjectorConfig message, written here so that
    writing needs no tensorboard; the tests parse it with TensorBoard's own."""
    return "\n".join([
        "embeddings {",
        f"  tensor_name: {_quoted(TENSOR_NAME)}",
        f"  tensor_shape: {count}",
        f"  tensor_shape: {dim}",
        f"  tensor_path: {_quoted(TENSORS)}",
        f"  metadata_path: {_quoted(METADATA)}",
        "  sprite {",
        f"    image_path: {_quoted(SPRITE)}",
        f"    single_image_dim: {thumb}",
        f"    single_image_dim: {thumb}",
        "  }",
        "}",
        ""])


def write_projector(model, items, out, table=None, attributes=(), log=say):
    """Encode the images (files and folders) with an OganModel (ogan_tf.api)
    and write the projector's four files into `out`; returns the number of
    images. The thumbnails are read as the codes' images are
    (inference/images.py), at the thumbnail's size."""
    paths = image_paths(items)
    columns, labels = label_columns(paths, table, attributes)
    codes, kept = model.encode_files(paths)
    paths = [paths[i] for i in kept]
    labels = None if labels is None else [labels[i] for i in kept]
    thumb = thumbnail_size(len(paths), model.resolution)
    thumbs = np.stack([read_image(p, thumb, model.crop_max) for p in paths])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / TENSORS, "".join("\t".join(f"{v:.6g}" for v in row) + "\n"
                                      for row in codes))
    if labels is None:  # one column: no header row (the projector's rule)
        table_text = "".join(_cell(p) + "\n" for p in paths)
    else:
        table_text = "\t".join(["file", *map(_cell, columns)]) + "\n" + "".join(
            "\t".join(map(_cell, [p, *row])) + "\n" for p, row in zip(paths, labels))
    write_text(out / METADATA, table_text)
    image = Image.fromarray(sprite(thumbs))
    atomic_write(out / SPRITE, lambda tmp: image.save(tmp, format="PNG"))
    write_text(out / CONFIG, config_text(len(paths), model.z_dim, thumb))
    log(f"wrote the codes of {len(paths)} image(s) ({model.z_dim} numbers each), their "
        f"names{' and ' + str(len(columns)) + ' label column(s)' if labels else ''} and a "
        f"sprite of {thumb} px thumbnails to {out}; view them with "
        f"`tensorboard --logdir {out}` (the PROJECTOR tab)")
    return len(paths)
