"""The three sample grids, as uint8 arrays, and the writer of their PNGs.

- random: a rows x cols grid of G(z) for a fixed z;
- reconstruction: rows of (real, G(s * N(E(real)))) pairs;
- interpolation: rows of real A, G(s * mix) for `steps` linear mixes of the
  N-codes of A and B (mix 0 and 1 included, i.e. the reconstructions), real B.
Real images are uint8 held-out images of the run's data set.
"""

from pathlib import Path

import imageio.v3 as iio
import numpy as np

from ..data.sources import open_source
from ..messages import say
from ..runs.files import atomic_write
from ..runs.models import load_run
from .model_calls import decode, encode, interpolate, reconstruct

KINDS = ("random", "reconstruction", "interpolation")


def grid_name(kind, step):
    """The file name of a grid: random_step0001500.png."""
    return f"{kind}_step{step:07d}.png"


def png_bytes(image):
    """A uint8 image as PNG file contents, in memory."""
    return iio.imwrite("<bytes>", image, extension=".png")


def tile(images, rows, cols):
    """(rows*cols, H, W, C) -> (rows*H, cols*W, C), row-major."""
    images = np.asarray(images)
    n, h, w, c = images.shape
    if n != rows * cols:
        raise ValueError(f"tile needs {rows * cols} images, got {n}")
    return images.reshape(rows, cols, h, w, c).swapaxes(1, 2).reshape(rows * h, cols * w, c)


def random_grid(generator, z, rows=9, cols=9):
    """G(z) for a fixed z of shape (rows*cols, z_dim)."""
    return tile(decode(generator, z), rows, cols)


def pairs(images, recon):
    """Each image followed by its reconstruction: (2n, H, W, 3), uint8."""
    return np.stack([images, recon], axis=1).reshape((2 * len(images),) + images.shape[1:])


def reconstruction_grid(generator, encoder, images, scale, rows=8):
    """Rows of (real, reconstruction) pairs; images: uint8 (n, H, W, 3)."""
    n = len(images)
    if n % rows:
        raise ValueError(f"{n} images do not fill {rows} rows of pairs")
    return tile(pairs(images, reconstruct(generator, encoder, images, scale)),
                rows, 2 * n // rows)


def interpolation_grid(generator, encoder, starts, ends, scale, steps=10):
    """One row per (start, end) pair of uint8 images: start, `steps` decoded
    mixes, end."""
    rows = len(starts)
    codes = encode(encoder, np.concatenate([starts, ends]))
    decoded = interpolate(generator, codes[:rows], codes[rows:], steps, scale)
    strip = np.concatenate([starts[:, None], decoded, ends[:, None]], axis=1)
    return tile(strip.reshape((-1,) + strip.shape[2:]), rows, steps + 2)


class SampleGrids:
    """Writes the random, reconstruction and interpolation grids of a model.

    Args:
        out_dir: folder of the PNGs (samples/<run>/).
        z: fixed noise, (81, z_dim) for a 9x9 random grid.
        heldout: uint8 images never trained on; the first 32 go to the
            reconstruction grid, the next 16 to 8 interpolation rows.
        scale: s in G(s * N(E(x))).
        interpolation_steps: mixes decoded per interpolation row.
    """

    def __init__(self, out_dir, z, heldout, scale, interpolation_steps=10):
        self.out_dir = Path(out_dir)
        self.z = z
        self.recon_images = heldout[:32]
        self.starts, self.ends = heldout[32:40], heldout[40:48]
        self.scale = scale
        self.interpolation_steps = interpolation_steps

    def images(self, generator, encoder):
        """{kind: uint8 grid} of the three grids (KINDS), in memory."""
        return {
            "random": random_grid(generator, self.z),
            "reconstruction": reconstruction_grid(
                generator, encoder, self.recon_images, self.scale
            ),
            "interpolation": interpolation_grid(
                generator, encoder, self.starts, self.ends, self.scale,
                self.interpolation_steps,
            ),
        }

    def write(self, generator, encoder, step):
        """Draw and write the grids of `step`; returns their paths."""
        return self.save(step, self.images(generator, encoder))

    def save(self, step, images):
        """Write grids drawn by images() as the PNGs of `step`; their paths."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for kind, image in images.items():
            path = self.out_dir / grid_name(kind, step)
            # Atomically: a kill or a full disk never leaves half a PNG
            # (runs/files.py); DiskFullError where the disk is full.
            atomic_write(path, lambda tmp, image=image: iio.imwrite(tmp, image, extension=".png"),
                         expected_size=image.nbytes // 2,
                         advice="free some space (grids are skipped meanwhile)")
            paths.append(path)
        return paths


def fixed_z(config, n=81):
    """The random grid's noise: fixed by the run's seed, so every grid of a
    run (and `ogan-tf samples`) shows the same z."""
    rng = np.random.default_rng([config.seed, 81])
    return rng.standard_normal((n, config.z_dim)).astype(np.float32)


def sample_grids(config, samples_dir, run_name):
    """The SampleGrids of a run: its fixed z and 48 held-out images."""
    return SampleGrids(
        Path(samples_dir) / run_name,
        fixed_z(config),
        open_source(config).heldout(48),
        config.recon_scale,
        config.interpolation_steps,
    )


def write_samples(runs_dir, samples_dir, name, log=say, weights="auto"):
    """Write the three grids from run `name`'s latest checkpoint (EMA
    weights where the run keeps them, as during training)."""
    config, model, step = load_run(runs_dir, name, weights)
    paths = sample_grids(config, samples_dir, name).write(model.generator, model.encoder, step)
    log(f"wrote {len(paths)} grids for {name!r} at step {step}:")
    for path in paths:
        log(f"  {path}")
    return paths
