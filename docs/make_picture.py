"""The README's picture: a run's random, reconstruction and interpolation grids.

    make readme-picture                      # the default run (trains it first)
    python docs/make_picture.py --run shapes -o docs/images/default_run.png

Draws the three grids from the run's latest checkpoint (EMA weights where it
keeps them), as `ogan-tf samples` does, keeps the first rows of each, and
sets them side by side, scaled up for the eye (nearest neighbour).
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import imageio.v3 as iio  # noqa: E402
import numpy as np  # noqa: E402

from ogan_tf.data.sources import open_source  # noqa: E402
from ogan_tf.inference import grids  # noqa: E402
from ogan_tf.runs.models import load_run  # noqa: E402

GAP = 8  # pixels of white between the grids (before scaling)


def picture(config, generator, encoder, rows=6, scale=2):
    res = config.resolution
    held = open_source(config).heldout(48)
    parts = [
        grids.random_grid(generator, grids.fixed_z(config))[:rows * res, :rows * res],
        grids.reconstruction_grid(generator, encoder, held[:32], config.recon_scale)[:rows * res],
        grids.interpolation_grid(generator, encoder, held[32:40], held[40:48],
                                 config.recon_scale, config.interpolation_steps)[:rows * res],
    ]
    gap = np.full((rows * res, GAP, 3), 255, np.uint8)
    row = np.concatenate([parts[0], gap, parts[1], gap, parts[2]], axis=1)
    return row.repeat(scale, axis=0).repeat(scale, axis=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="shapes")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--rows", type=int, default=6)
    parser.add_argument("-o", "--output", default="docs/images/default_run.png")
    args = parser.parse_args()
    config, model, step = load_run(args.runs_dir, args.run)
    image = picture(config, model.generator, model.encoder, args.rows)
    os.makedirs(os.path.dirname(args.output) or ".", exist_ok=True)
    iio.imwrite(args.output, image, optimize=True)
    print(f"wrote {args.output} ({image.shape[1]}x{image.shape[0]}) from run {args.run!r} "
          f"at step {step}: random | reconstruction pairs | interpolations")


if __name__ == "__main__":
    main()
