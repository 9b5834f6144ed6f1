"""What the model commands do (`ogan-tf encode`, `decode`, `reconstruct`,
`interpolate`, `edit`), each one call from the CLI: checks that need no
model first, then `load()` (a callable giving the api.OganModel), then the
files, written atomically. The latent tools: apps/latent_commands.py."""

import numpy as np

from ..errors import OganError
from ..messages import say
from ..inference.outputs import (grid, output_path, pairs_grid, rows_grid, write_array, write_image)


def encode(load, images, output, raw=False, log=say):
    out = output_path(output, (".npy",))
    codes = load().encode(images, raw=raw)
    write_array(out, codes)
    log(f"wrote {'E(x)' if raw else 'N(E(x))'} codes {codes.shape} of "
        f"{len(codes)} image(s) to {out} (rows in the order of the files read)")


def decode(load, codes_file, output, log=say):
    out = output_path(output)
    try:
        codes = np.load(codes_file)
    except (OSError, ValueError) as err:
        raise OganError(f"{codes_file} is not a readable .npy file ({err})") from None
    if not isinstance(codes, np.ndarray):  # an .npz archive
        raise OganError(f"{codes_file} is not a .npy array; save the codes with np.save")
    images = load().decode(codes)
    write_image(out, grid(images, int(np.ceil(np.sqrt(len(images))))))
    log(f"wrote {len(images)} decoded image(s) to {out}")


def reconstruct(load, images, output, scale=None, log=say):
    out = output_path(output)
    model = load()
    images = model.images(images)
    write_image(out, pairs_grid(images, model.reconstruct(images, scale)))
    log(f"wrote {len(images)} (image, reconstruction) pair(s) to {out}")


def interpolate(load, a, b, output, steps=10, scale=None, log=say):
    out = output_path(output)
    model = load()
    a, b = model.images([a])[0], model.images([b])[0]
    strip = np.concatenate([a[None], model.interpolate(a, b, steps, scale), b[None]])
    write_image(out, rows_grid(strip[None]))
    log(f"wrote A, {steps} decoded mixes, B to {out}")


def edit(load, images, direction, amounts, output, scale=None, orthogonal_to=(), log=say,
         row=None):
    out = output_path(output)
    model = load()
    images = model.images(images)
    edits = model.edit(images, direction, amounts, scale, orthogonal_to, row)
    write_image(out, rows_grid(np.concatenate([images[:, None], edits], axis=1)))
    listed = ",".join(f"{a:g}" for a in amounts)
    log(f"wrote {len(images)} row(s) (the image, then amounts {listed}) to {out}")
