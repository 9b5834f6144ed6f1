"""Do edits along a factor's direction change that factor, and only it?

    python research/edit_leakage.py RUN [--runs-dir runs] [--n 4000] [--edits 200]

On the generated shapes, whose factors are known, through the Python API
(ogan_tf.api, the run's default weights):

1. directions from examples: on n shapes images (set A), each factor's
   direction is found as `ogan-tf direction` finds it (model.direction):
   least squares for x, y, size, the cos and sin of the hue angles and the
   background brightness; a logistic regression for circle vs square;
2. a read-out fitted on real codes: on another n images (set B), a least-
   squares read-out of every factor from the codes N(E(x)), as
   examples/linear_readout.py fits it (its held-out R^2 is printed too);
3. edits: `--edits` other images (set C) are edited along each direction,
   G(s N(E(x)) + a d) for the amounts, the edited images encoded again and
   read out; per image, the slope of each read factor over the amounts is
   fitted, and the mean over images is reported in standard deviations of
   that factor (over set B) per unit amount. The edited factor's column is
   the edit's effect; every other column is leakage.

A second measure, without the encoder, reads the edited images' pixels: the
shape is bright (HSV value 0.95) on a dark background (value <= 0.45), so
the pixels whose brightest channel is over 0.7 are the shape: its area
(fraction of the image) and the centre of those pixels (x, y), again per
unit amount in standard deviations over set B's real images.

Prints markdown tables (and writes them with --json as JSON); --strip writes
rows of images edited along the size direction.
"""

import argparse
import json

import numpy as np

FACTORS = ("x", "y", "size", "hue cos", "hue sin", "bg value", "bg hue cos", "bg hue sin",
           "circle")
SEEDS = {"directions": 20_190_301, "readout": 20_190_302, "edits": 20_190_303}
PIXELS = ("area", "centre x", "centre y")
BRIGHT = 0.7 * 255  # the shape's pixels: brightest channel above this


def pixel_table(images):
    """(n, 3): the shape's area (fraction of pixels) and the centre of its
    pixels (x, y in [0, 1]) read from the pixels; NaN centre for no shape."""
    mask = images.max(axis=-1) > BRIGHT
    res = images.shape[1]
    area = mask.mean(axis=(1, 2))
    grid = (np.arange(res) + 0.5) / res
    with np.errstate(invalid="ignore", divide="ignore"):
        cx = (mask * grid[None, None, :]).sum(axis=(1, 2)) / mask.sum(axis=(1, 2))
        cy = (mask * grid[None, :, None]).sum(axis=(1, 2)) / mask.sum(axis=(1, 2))
    return np.stack([area, cx, cy], axis=1)


def slopes(measured, amounts):
    """Per image, the least-squares slope over the amounts: (m, a, f) -> (m, f)."""
    centred = amounts - amounts.mean()
    deviation = measured - measured.mean(1, keepdims=True)
    return np.einsum("a,maf->mf", centred, deviation) / (centred ** 2).sum()


def factor_table(factors):
    """The measured factors of shapes images as columns (n, len(FACTORS))."""
    hue, bg = 2 * np.pi * factors["hue"], 2 * np.pi * factors["bg_hue"]
    return np.stack([factors["x"], factors["y"], factors["size"], np.cos(hue), np.sin(hue),
                     factors["bg_value"], np.cos(bg), np.sin(bg),
                     (factors["shape"] == 0).astype(float)], axis=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--n", type=int, default=4000, help="images of sets A and B, each")
    parser.add_argument("--edits", type=int, default=200, help="images edited (set C)")
    parser.add_argument("--amounts", default="-2,-1,0,1,2")
    parser.add_argument("--json", default=None, help="write the results here too")
    parser.add_argument("--strip", default=None, help="a PNG of size edits of 8 images")
    args = parser.parse_args()

    from ogan_tf import api
    from ogan_tf.data.shapes import make_shapes
    from ogan_tf.latent import fit

    model = api.load(args.run, args.runs_dir, log=lambda m: None)
    amounts = np.array([float(a) for a in args.amounts.split(",")], np.float32)

    # 1. Directions from examples (set A)
    images_a, factors_a = make_shapes(args.n, model.resolution, SEEDS["directions"])
    table_a = factor_table(factors_a)
    directions, scores = {}, {}
    for i, name in enumerate(FACTORS[:-1]):
        found = model.direction(images=images_a, values=table_a[:, i], classes=False,
                                attribute=name)
        directions[name], scores[name] = found.vector, found.info
    pick = np.isin(factors_a["shape"], (0, 1))  # circle (0) vs square (1)
    found = model.direction(images=images_a[pick], values=(factors_a["shape"][pick] == 0),
                            classes=True, attribute="circle vs square")
    directions["circle vs square"], scores["circle vs square"] = found.vector, found.info

    # 2. The measuring read-out, fitted on real codes (set B, first half; R^2 on the second)
    images_b, factors_b = make_shapes(args.n, model.resolution, SEEDS["readout"])
    table_b = factor_table(factors_b)
    codes_b = model.encode(images_b)
    half = args.n // 2
    readout = [fit.fit_least_squares(codes_b[:half], table_b[:half, i], ridge=0)
               for i in range(len(FACTORS))]

    def read(codes):
        return np.stack([codes @ w + b for w, b in readout], axis=1)

    readout_r2 = {name: fit.r_squared(table_b[half:, i], read(codes_b[half:])[:, i])
                  for i, name in enumerate(FACTORS)}
    spread = table_b.std(axis=0)
    pixel_spread = np.nanstd(pixel_table(images_b), axis=0)

    # 3. Edits (set C), encoded again and read out
    images_c, _ = make_shapes(args.edits, model.resolution, SEEDS["edits"])
    rows = {}
    for name, d in directions.items():
        edited = model.edit(images_c, d, amounts)  # (m, len(amounts), res, res, 3)
        measured = read(model.encode(edited.reshape((-1,) + edited.shape[2:])))
        measured = measured.reshape(len(images_c), len(amounts), len(FACTORS))
        target = FACTORS.index(name) if name in FACTORS else FACTORS.index("circle")
        steps = np.diff(measured[:, :, target], axis=1)
        pixels = pixel_table(edited.reshape((-1,) + edited.shape[2:]))
        pixels = pixels.reshape(len(images_c), len(amounts), len(PIXELS))
        per_pixel = np.nanmean(slopes(pixels, amounts), axis=0) / pixel_spread
        rows[name] = {
            "per_unit_std": dict(zip(FACTORS, (slopes(measured, amounts).mean(0)
                                               / spread).round(3).tolist())),
            "pixels_per_unit_std": dict(zip(PIXELS, per_pixel.round(3).tolist())),
            "area_monotonic": float((np.diff(pixels[:, :, 0], axis=1) > 0).all(axis=1).mean()),
            "monotonic": float((steps > 0).all(axis=1).mean()),
            "projection_std": scores[name]["projection_std"],
            "score": scores[name].get("heldout_r2", scores[name].get("heldout_accuracy")),
            "chance": scores[name].get("chance"),
        }
        if args.strip and name == "size":
            import imageio.v3 as iio

            from ogan_tf.inference.grids import tile

            strip = np.concatenate([images_c[:8, None], edited[:8]], axis=1)
            iio.imwrite(args.strip, tile(strip.reshape((-1,) + strip.shape[2:]), 8,
                                         strip.shape[1]))

    about = model.about()
    print(f"run {args.run!r}, step {about['step']}, weights {about['weights']}, "
          f"z_dim {about['z_dim']}; sets A, B of {args.n} images, {args.edits} edited, "
          f"amounts {args.amounts}\n")
    print("Read-out fitted on real codes (set B), held-out R^2: " + ", ".join(
        f"{k} {v:.2f}" for k, v in readout_r2.items()) + "\n")
    print("| direction | read-out of the direction (held-out) | std of codes along it | "
          "monotonic | " + " | ".join(FACTORS) + " |")
    print("|---" * (4 + len(FACTORS)) + "|")
    for name, row in rows.items():
        kind = "R^2" if name in FACTORS else "accuracy"
        chance = f" (chance {row['chance']:.2f})" if row["chance"] is not None else ""
        cells = []
        for factor, value in row["per_unit_std"].items():
            edited = factor == name or (name == "circle vs square" and factor == "circle")
            cells.append(f"**{value:+.2f}**" if edited else f"{value:+.2f}")
        print(f"| {name} | {kind} {row['score']:.2f}{chance} | {row['projection_std']:.2f} | "
              f"{row['monotonic']:.2f} | " + " | ".join(cells) + " |")
    print("\nFrom the pixels of the edited images (std of real images per unit amount):\n")
    print("| direction | " + " | ".join(PIXELS) + " | area grows at every step |")
    print("|---" * (2 + len(PIXELS)) + "|")
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{v:+.2f}" for v in row["pixels_per_unit_std"].values())
              + f" | {row['area_monotonic']:.2f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"run": args.run, **about, "n": args.n, "edits": args.edits,
                       "amounts": amounts.tolist(), "readout_r2": readout_r2,
                       "directions": rows}, f, indent=2)


if __name__ == "__main__":
    main()
