"""What FID and KID cost on this machine: features, the maths, the cache.

    python benchmarks/bench_fid.py [--images 1000] [--featurise 100] [--out FILE]

Prints one JSON line per measurement, wall and CPU seconds (process time,
all threads) side by side, with the CPU's name:

- features: Keras' InceptionV3 (random weights: the same arithmetic as the
  ImageNet ones, which this machine cannot download) on `--featurise`
  shapes images at 32 px, resized to 299; per image, and extrapolated to
  `--images` samples plus as many real images;
- fid_plain: the FID of two 2048-wide feature sets of `--images` rows with
  the d x d eigenproblems (evaluation.feature_distances.frechet_distance):
  the baseline, what an evaluation pays without a cached reference;
- reference_root: the reference covariance's square root, once per data set
  (covariance_sqrt; cached with the reference statistics);
- fid_cached: an evaluation's FID against the cached reference
  (frechet_to_features): the same figure as fid_plain;
- kid: KID with 100 subsets of min(1000, n) (kernel_distance).

Random Gaussian features stand in for Inception's in the maths rows (their
cost depends only on the shapes). docs/evaluation.md quotes the results.
"""

import argparse
import json
import time

import numpy as np


def timed(name, fn, **extra):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    row = {"measure": name, "wall_s": round(time.perf_counter() - wall, 3),
           "cpu_s": round(time.process_time() - cpu, 3), **extra}
    return value, row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=1000, help="samples (and real images)")
    parser.add_argument("--featurise", type=int, default=100,
                        help="images pushed through InceptionV3 to time it")
    parser.add_argument("--out", default=None, help="append the rows to this JSON-lines file")
    args = parser.parse_args()

    from ogan_tf.data.shapes import make_shapes
    from ogan_tf.evaluation import feature_distances as fd
    from ogan_tf.evaluation import features
    from ogan_tf.training.hardware import cpu_name

    rows = []
    model = features.inception_model(weights=None)
    images = make_shapes(args.featurise, 32, seed=0)[0]
    features.inception_features(images[:2], model)  # build and trace once
    _, row = timed("features", lambda: features.inception_features(images, model),
                   network=features.KERAS_NAME, images=args.featurise)
    row["per_image_s"] = round(row["wall_s"] / args.featurise, 4)
    row["extrapolated_to_2x_images_s"] = round(2 * args.images * row["per_image_s"], 1)
    rows.append(row)

    rng = np.random.default_rng(0)
    real = np.abs(rng.normal(size=(args.images, 2048)))  # pool_3 features are >= 0
    fake = np.abs(rng.normal(size=(args.images, 2048))) * 1.1
    plain, row = timed("fid_plain", lambda: fd.frechet_distance(real, fake), n=args.images)
    rows.append(row)
    mu, cov = fd.gaussian_stats(real)
    root, row = timed("reference_root", lambda: fd.covariance_sqrt(real), n=args.images)
    rows.append(row)
    cached, row = timed("fid_cached", lambda: fd.frechet_to_features(mu, cov, root, fake),
                        n=args.images)
    row["equal_to_plain"] = bool(np.isclose(cached, plain, rtol=1e-6))
    rows.append(row)
    _, row = timed("kid", lambda: fd.kernel_distance(real, fake), n=args.images,
                   subsets=fd.KID_SUBSETS, subset_size=min(args.images, fd.KID_SUBSET_SIZE))
    rows.append(row)
    for row in rows:
        row["cpu"] = cpu_name()
        print(json.dumps(row))
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
