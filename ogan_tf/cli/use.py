"""The commands that use a trained model: export, evaluate, encode, decode,
reconstruct, interpolate, and claims (which trains the claims_* presets).
Each handler imports what it needs when it runs (see cli/__init__.py)."""

from pathlib import Path

import numpy as np

from ..config import DEFAULT_PRESET
from ..errors import OganError
from .train import WEIGHTS_HELP

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def add_parsers(sub, add_dirs):
    default_run = DEFAULT_PRESET

    def model_source(parser):
        parser.add_argument("--run", default=default_run,
                            help=f"run name, or a run or export folder (default: {default_run})")
        parser.add_argument("--weights", default="auto", help=WEIGHTS_HELP)
        add_dirs(parser, samples=False)

    p = sub.add_parser("export", help="write runs/<run>/export/: encoder.keras, "
                                      "encoder_raw.keras, generator.keras, SavedModels")
    model_source(p)
    p.add_argument("--no-saved-model", action="store_true",
                   help="write only the .keras files")

    p = sub.add_parser("evaluate", help="FID, SWD, reconstruction and code figures into "
                                        "runs/<run>/eval.json and metrics.jsonl")
    model_source(p)
    p.add_argument("--images", type=int, default=None,
                   help="held-out images to use (default: the run's eval_images)")
    p.add_argument("--no-fid", action="store_true",
                   help="skip FID (it needs the InceptionV3 ImageNet weights file)")

    p = sub.add_parser("encode", help="codes N(E(x)) of images, saved as .npy")
    p.add_argument("images", nargs="+", help="image files (any size: centre-cropped, resized)")
    p.add_argument("-o", "--output", required=True, help="output .npy, (n, z_dim) float32")
    p.add_argument("--raw", action="store_true", help="save E(x) instead of N(E(x))")
    model_source(p)

    p = sub.add_parser("decode", help="images G(codes) from a .npy of codes, as a grid")
    p.add_argument("codes", help=".npy of (n, z_dim) codes")
    p.add_argument("-o", "--output", required=True, help="output grid image (.png)")
    model_source(p)

    p = sub.add_parser("reconstruct", help="grid of (image, G(s N(E(image)))) pairs")
    p.add_argument("images", nargs="+", help="image files (any size: centre-cropped, resized)")
    p.add_argument("-o", "--output", required=True, help="output grid image (.png)")
    p.add_argument("--scale", type=float, default=None, help="s (default: the run's recon_scale)")
    model_source(p)

    p = sub.add_parser("interpolate", help="strip: A, decoded mixes of the codes of A and B, B")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("-o", "--output", required=True, help="output strip image (.png)")
    p.add_argument("--steps", type=int, default=10, help="decoded mixes (default 10)")
    p.add_argument("--scale", type=float, default=None, help="s (default: the run's recon_scale)")
    model_source(p)

    p = sub.add_parser("claims", help="train and evaluate the claims_* presets; markdown table")
    p.add_argument("--steps", type=int, default=None,
                   help="steps per preset (default: the presets' 2000)")
    p.add_argument("--images", type=int, default=1000, help="held-out images to evaluate on")
    p.add_argument("-o", "--output", default=None,
                   help="the table's file (default: <runs-dir>/claims.md)")
    add_dirs(p)


def _output(path, suffixes):
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise OganError(f"output {path} must end in {' or '.join(suffixes)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _write_image(path, image):
    import imageio.v3 as iio

    from ..runs import atomic_write  # loads Keras

    atomic_write(path, lambda tmp: iio.imwrite(tmp, image))


def _grid(images, cols):
    """Images in rows of `cols`, the last row padded with blanks."""
    from ..use.grids import tile  # loads Keras

    rows = -(-len(images) // cols)
    pad = np.zeros((rows * cols - len(images),) + images.shape[1:], np.uint8)
    return tile(np.concatenate([images, pad]), rows, cols)


def _pairs_grid(images, recon, per_row=4):
    """Rows of up to per_row (image, reconstruction) pairs; blank padding."""
    pairs = np.stack([images, recon], axis=1).reshape((2 * len(images),) + images.shape[1:])
    return _grid(pairs, 2 * min(len(images), per_row))


def _model(args, log):
    from ..use import api  # loads Keras

    return api.load(args.run, args.runs_dir, args.weights, log=log)


def run_export(args, log=print):
    from ..use.export import export_run  # loads Keras

    export_run(args.runs_dir, args.run, args.weights,
               saved_model=not args.no_saved_model, log=log)


def run_evaluate(args, log=print):
    from ..use.evaluation import evaluate_run  # loads Keras

    evaluate_run(args.runs_dir, args.run, args.weights, n=args.images,
                 fid=not args.no_fid, log=log)


def run_claims(args, log=print):
    from ..train.claims import run_claims as claims  # loads Keras

    out = args.output or Path(args.runs_dir) / "claims.md"
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    claims(args.runs_dir, args.samples_dir, out, steps=args.steps, n=args.images, log=log)


def run_encode(args, log=print):
    from ..runs import atomic_write  # loads Keras

    out = _output(args.output, (".npy",))
    model = _model(args, log)
    codes = model.encode(args.images, raw=args.raw)
    atomic_write(out, lambda tmp: np.save(tmp, codes))
    log(f"wrote {'E(x)' if args.raw else 'N(E(x))'} codes {codes.shape} of "
        f"{len(codes)} image(s) to {out} (rows in the order of the files read)")


def run_decode(args, log=print):
    out = _output(args.output, _IMAGE_SUFFIXES)
    try:
        codes = np.load(args.codes)
    except (OSError, ValueError) as err:
        raise OganError(f"{args.codes} is not a readable .npy file ({err})") from None
    if not isinstance(codes, np.ndarray):  # an .npz archive
        raise OganError(f"{args.codes} is not a .npy array; save the codes with np.save")
    images = _model(args, log).decode(codes)
    _write_image(out, _grid(images, int(np.ceil(np.sqrt(len(images))))))
    log(f"wrote {len(images)} decoded image(s) to {out}")


def run_reconstruct(args, log=print):
    out = _output(args.output, _IMAGE_SUFFIXES)
    model = _model(args, log)
    images = model.images(args.images)
    _write_image(out, _pairs_grid(images, model.reconstruct(images, args.scale)))
    log(f"wrote {len(images)} (image, reconstruction) pair(s) to {out}")


def run_interpolate(args, log=print):
    out = _output(args.output, _IMAGE_SUFFIXES)
    model = _model(args, log)
    a, b = model.images([args.a])[0], model.images([args.b])[0]
    strip = np.concatenate([a[None], model.interpolate(a, b, args.steps, args.scale), b[None]])
    _write_image(out, _grid(strip, len(strip)))
    log(f"wrote A, {args.steps} decoded mixes, B to {out}")


COMMANDS = {
    "export": run_export, "evaluate": run_evaluate, "encode": run_encode,
    "decode": run_decode, "reconstruct": run_reconstruct, "interpolate": run_interpolate,
    "claims": run_claims,
}
