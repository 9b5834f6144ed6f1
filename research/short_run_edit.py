"""Does a size direction found with `ogan-tf direction` grow the shapes under `ogan-tf edit`?

    python research/short_run_edit.py RUN [--runs-dir runs] [--weights auto,raw]

A short run's default (EMA) weights against its raw ones, the evidence for
the EMA ramp-up (docs/recipe.md). On generated shapes (a seed used neither
for training nor for the grids), for each --weights:
1. `ogan-tf direction --positive LARGE --negative SMALL`: the largest and the
   smallest third of 600 shapes, as PNG folders (the command itself, in-process);
2. the edit `ogan-tf edit` makes (model.edit, the same call): 100 other
   shapes, G(s N(E(x)) + a d) for a in -2, -1, 0, 1, 2;
3. the area of the shape in each edited image, read from the pixels (as
   research/edit_leakage.py: brightest channel over 0.7), and Spearman's rank
   correlation of area with the amount over all edited images (+1: every
   step up grows every shape).
Prints one JSON object: the correlation per weights.
"""

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from edit_leakage import pixel_table

SEED = 20_191_130
AMOUNTS = (-2.0, -1.0, 0.0, 1.0, 2.0)


def write_folders(root, resolution, n=600):
    """root/large, root/small: the largest and smallest third of n shapes."""
    from PIL import Image

    from ogan_tf.data.shapes import make_shapes

    images, factors = make_shapes(n, resolution, SEED)
    order = np.argsort(factors["size"])
    for name, picks in (("small", order[: n // 3]), ("large", order[-(n // 3):])):
        (root / name).mkdir()
        for i in picks:
            Image.fromarray(images[i]).save(root / name / f"{i:04d}.png")
    return root / "large", root / "small"


def size_edit_correlation(run, runs_dir, weights, root):
    from scipy.stats import spearmanr

    from ogan_tf import api, cli
    from ogan_tf.data.shapes import make_shapes

    model = api.load(run, runs_dir, weights=weights, log=lambda m: None)
    large, small = root / "large", root / "small"
    if not large.is_dir():
        write_folders(root, model.resolution)
    out = root / f"size_{weights}.npy"
    code = cli.main(["direction", "--positive", str(large), "--negative", str(small),
                     "-o", str(out), "--run", run, "--runs-dir", str(runs_dir),
                     "--weights", weights])
    if code:
        raise SystemExit(f"ogan-tf direction failed ({code})")
    images, _ = make_shapes(100, model.resolution, SEED + 1)
    edited = model.edit(images, str(out), AMOUNTS)  # (n, amounts, res, res, 3)
    area = pixel_table(edited.reshape((-1,) + edited.shape[2:]))[:, 0]
    amounts = np.tile(AMOUNTS, len(images))
    return float(spearmanr(amounts, area).statistic), model.info.get("step")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--weights", default="auto,raw")
    args = parser.parse_args()
    result = {"run": args.run}
    with tempfile.TemporaryDirectory() as tmp:
        for weights in args.weights.split(","):
            rho, step = size_edit_correlation(args.run, args.runs_dir, weights, Path(tmp))
            result[f"area_amount_spearman_{weights}"] = round(rho, 3)
            result["step"] = step
    print(json.dumps(result))


if __name__ == "__main__":
    main()
