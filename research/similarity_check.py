"""What cosine similarity of codes do distinct images, JPEG re-saves and
one-pixel shifts get? (choosing `ogan-tf neighbours --duplicates --threshold`)

    python research/similarity_check.py RUN [--runs-dir runs] [--n 2000]

On n new shapes images at the run's resolution, through the Python API:
the percentiles of each image's nearest other image's similarity and the
count of pairs over a few thresholds; then, for the first 500 images, the
similarity of each to its JPEG re-save (quality 90, 75, 50) and to the same
shape rendered one pixel to the right.
"""

import argparse
import io

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()

    from PIL import Image

    from ogan_tf import api
    from ogan_tf.data.shapes import make_shapes, render_shapes
    from ogan_tf.latent import similarity

    model = api.load(args.run, args.runs_dir, log=lambda m: None)
    images, factors = make_shapes(args.n, model.resolution, 777)
    codes = similarity.unit_rows(model.encode(images))
    sims = codes @ codes.T
    np.fill_diagonal(sims, -1)
    nearest = sims.max(1)
    print(f"run {args.run!r} step {model.info.get('step')}: {args.n} distinct images")
    print("  nearest other image, similarity percentiles 50/90/99 and max: "
          + " / ".join(f"{v:.3f}" for v in np.percentile(nearest, [50, 90, 99])),
          f"/ {nearest.max():.3f}")
    upper = np.triu(sims, 1)
    for t in (0.95, 0.98, 0.99):
        print(f"  pairs at {t} or above: {int((upper >= t).sum())} of {args.n * (args.n - 1) // 2}")

    def jpeg(image, quality):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=quality)
        return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))

    first = slice(0, min(500, args.n))
    for quality in (90, 75, 50):
        again = np.stack([jpeg(image, quality) for image in images[first]])
        s = (similarity.unit_rows(model.encode(again)) * codes[first]).sum(1)
        print(f"  JPEG quality {quality} re-save vs original: percentiles 1/50 "
              f"{np.percentile(s, 1):.3f} / {np.percentile(s, 50):.3f}")
    shifted = {k: v[first].copy() for k, v in factors.items()}
    shifted["x"] = shifted["x"] + 1 / model.resolution
    s = (similarity.unit_rows(model.encode(render_shapes(shifted, model.resolution)))
         * codes[first]).sum(1)
    print(f"  one pixel to the right vs original: percentiles 1/50 "
          f"{np.percentile(s, 1):.3f} / {np.percentile(s, 50):.3f}")


if __name__ == "__main__":
    main()
