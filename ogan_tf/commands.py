"""The CLI commands that use a trained model: export, evaluate, encode,
decode, reconstruct, interpolate, claims. cli.py adds their parsers and
hands them the parsed arguments; no keras import until one runs."""

from pathlib import Path

NAMES = ("export", "evaluate", "encode", "decode", "reconstruct", "interpolate", "claims")
_WEIGHTS_HELP = ("auto (the first EMA where the run keeps EMAs, else raw), raw, "
                 "or an EMA decay such as 0.999")
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


def add_parsers(sub, add_dirs, default_run):
    def model_source(parser):
        parser.add_argument("--run", default=default_run,
                            help=f"run name, or a run or export folder (default: {default_run})")
        parser.add_argument("--weights", default="auto", help=_WEIGHTS_HELP)
        parser.add_argument("--runs-dir", default="runs", help="where runs live (default: runs)")

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
    from .errors import OganError

    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise OganError(f"output {path} must end in {' or '.join(suffixes)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _write_image(path, image):
    import imageio.v3 as iio

    from .runs import _atomic_write

    _atomic_write(path, lambda tmp: iio.imwrite(tmp, image))


def _pairs_grid(images, recon, per_row=4):
    """Rows of up to per_row (image, reconstruction) pairs; blank padding."""
    import numpy as np

    from .grids import tile

    n = len(images)
    rows = -(-n // per_row)
    cols = min(n, per_row)
    pad = rows * cols - n
    pairs = np.stack([images, recon], axis=1).reshape((2 * n,) + images.shape[1:])
    pairs = np.concatenate([pairs, np.zeros((2 * pad,) + images.shape[1:], np.uint8)])
    return tile(pairs, rows, 2 * cols)


def run(args, log=print):
    import numpy as np

    from . import api

    if args.command == "export":
        from .export import export_run

        export_run(args.runs_dir, args.run, args.weights,
                   saved_model=not args.no_saved_model, log=log)
    elif args.command == "evaluate":
        from .evaluation import evaluate_run

        evaluate_run(args.runs_dir, args.run, args.weights, n=args.images,
                     fid=not args.no_fid, log=log)
    elif args.command == "claims":
        from .claims import run_claims

        out = args.output or Path(args.runs_dir) / "claims.md"
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        run_claims(args.runs_dir, args.samples_dir, out, steps=args.steps, n=args.images,
                   log=log)
    elif args.command == "encode":
        out = _output(args.output, (".npy",))
        model = api.load(args.run, args.runs_dir, args.weights, log=log)
        images, names = api.load_images(args.images, model.resolution, log, model.crop_max)
        codes = model.encode(images, raw=args.raw)
        from .runs import _atomic_write

        _atomic_write(out, lambda tmp: np.save(tmp, codes))
        log(f"wrote {'E(x)' if args.raw else 'N(E(x))'} codes {codes.shape} of "
            f"{len(names)} image(s) to {out} (rows in the order of the files read)")
    elif args.command == "decode":
        out = _output(args.output, _IMAGE_SUFFIXES)
        from .errors import OganError

        try:
            codes = np.load(args.codes)
        except (OSError, ValueError) as err:
            raise OganError(f"{args.codes} is not a readable .npy file ({err})") from None
        if not isinstance(codes, np.ndarray):  # an .npz archive
            raise OganError(f"{args.codes} is not a .npy array; save the codes with np.save")
        model = api.load(args.run, args.runs_dir, args.weights, log=log)
        images = model.decode(codes)
        cols = int(np.ceil(np.sqrt(len(images))))
        rows = -(-len(images) // cols)
        pad = np.zeros((rows * cols - len(images),) + images.shape[1:], np.uint8)
        from .grids import tile

        _write_image(out, tile(np.concatenate([images, pad]), rows, cols))
        log(f"wrote {len(images)} decoded image(s) to {out}")
    elif args.command == "reconstruct":
        out = _output(args.output, _IMAGE_SUFFIXES)
        model = api.load(args.run, args.runs_dir, args.weights, log=log)
        images, names = api.load_images(args.images, model.resolution, log, model.crop_max)
        _write_image(out, _pairs_grid(images, model.reconstruct(images, args.scale)))
        log(f"wrote {len(names)} (image, reconstruction) pair(s) to {out}")
    elif args.command == "interpolate":
        out = _output(args.output, _IMAGE_SUFFIXES)
        model = api.load(args.run, args.runs_dir, args.weights, log=log)
        a = api.load_images([args.a], model.resolution, log, model.crop_max)[0]
        b = api.load_images([args.b], model.resolution, log, model.crop_max)[0]
        strip = np.concatenate([a, model.interpolate(a, b, args.steps, args.scale), b])
        from .grids import tile

        _write_image(out, tile(strip, 1, len(strip)))
        log(f"wrote A, {args.steps} decoded mixes, B to {out}")
