"""The commands that use a trained model: export, evaluate, encode, decode,
reconstruct, interpolate, the latent tools (direction, principal, edit,
neighbours), and claims (which trains the claims_* presets).
Each handler imports what it needs when it runs (see cli/__init__.py)."""

import argparse
from pathlib import Path

import numpy as np

from ..errors import OganError
from .common import add_model_source, run_of

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
DUPLICATE_THRESHOLD = 0.99
LIST_OPTIONS = ("--amounts",)  # take values such as -2,-1,0 (see cli.main)


def amount_list(text):
    """--amounts -2,-1,0,1,2 -> (-2.0, -1.0, 0.0, 1.0, 2.0)."""
    try:
        amounts = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        amounts = ()
    if not amounts or not all(np.isfinite(amounts)):
        raise argparse.ArgumentTypeError(f"use comma-separated numbers such as -2,-1,0,1,2, "
                                         f"not {text!r}")
    return amounts


def add_parsers(sub, add_dirs):
    model_source = add_model_source
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
                   help="skip FID and KID (they need a feature network file)")
    p.add_argument("--fid-network", default="auto", metavar="NAME|FILE",
                   help="standard (the 2015-12-05 Inception graph, comparable with papers), "
                        "keras (Keras' InceptionV3: not comparable), auto (standard where "
                        "placed, else keras; the default) or the graph file's path")
    p.add_argument("--fid-images", type=int, default=None, metavar="N",
                   help="samples for FID and KID (default: 50000 with a GPU, the fid50k_full "
                        "convention; else 1000)")
    p.add_argument("--fid-real", type=int, default=None, metavar="N",
                   help="real training images of the cached reference statistics (0: all; "
                        "default: all with a GPU, else as many as --fid-images)")

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

    p = sub.add_parser("direction", help="an attribute's direction in code space from examples "
                                         "(two folders, or a table of labels), saved as .npy")
    p.add_argument("--positive", metavar="DIR", help="folder of images with the attribute")
    p.add_argument("--negative", metavar="DIR", help="folder of images without it")
    p.add_argument("--labels", metavar="FILE",
                   help="a CelebA-style table (list_attr_celeba.txt: names, then 'file 1 -1 ...' "
                        "per image), a CSV of file,value (a continuous attribute), or a "
                        "StyleGAN2-ADA dataset .zip (its dataset.json labels)")
    p.add_argument("--attribute", help="the table's column (needed when it has several); "
                                       "of a dataset zip, a class N (against the rest) or a "
                                       "label vector's column N")
    p.add_argument("--images", metavar="DIR",
                   help="where the table's files are (default: the table's folder)")
    p.add_argument("-o", "--output", required=True,
                   help="output .npy (a JSON sidecar is written beside it, and both are "
                        "copied to <run>/directions/)")
    p.add_argument("--limit", type=int, default=0,
                   help="use at most N images per class (of a continuous attribute: in all), "
                        "a fixed random choice (default: all)")
    p.add_argument("--heldout", type=float, default=0.2,
                   help="fraction held out to score the read-out (default 0.2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and --limit")
    model_source(p)

    p = sub.add_parser("principal", help="principal axes of the codes, and a grid walking "
                                         "each from -3 to +3 standard deviations")
    p.add_argument("--images", metavar="DIR",
                   help="folder of real images (default: the codes of generated images)")
    p.add_argument("-o", "--output", required=True, help="output grid image (.png)")
    p.add_argument("-k", type=int, default=8, help="axes to walk, one row each (default 8)")
    p.add_argument("--steps", type=int, default=7, help="images per row (default 7)")
    p.add_argument("--span", type=float, default=3.0, help="walk from -span to +span std")
    p.add_argument("--samples", type=int, default=2000,
                   help="generated images without --images (default 2000)")
    p.add_argument("--from", dest="start", metavar="IMAGE",
                   help="walk around this image's code instead of the mean code")
    p.add_argument("--scale", type=float, default=None, help="s (default: the run's recon_scale)")
    model_source(p)

    p = sub.add_parser("edit", help="rows of image, G(s N(E(image)) + a d) for each amount a")
    p.add_argument("images", nargs="+", help="image files (any size: centre-cropped, resized)")
    p.add_argument("--direction", required=True, metavar="FILE",
                   help="a direction .npy: from `ogan-tf direction` or `principal`, or the "
                        "field's (1, z_dim) InterFaceGAN boundary or (k, z_dim) rows with --row")
    p.add_argument("--row", type=int, default=None, metavar="N",
                   help="the row of a (k, z_dim) direction file (GANSpace components)")
    p.add_argument("--amounts", type=amount_list, default=(-2.0, -1.0, 0.0, 1.0, 2.0),
                   help="comma-separated amounts a (default -2,-1,0,1,2)")
    p.add_argument("--orthogonal-to", nargs="+", action="extend", default=[], metavar="FILE",
                   help="directions whose components are removed from the direction first")
    p.add_argument("-o", "--output", required=True, help="output grid image (.png)")
    p.add_argument("--scale", type=float, default=None, help="s (default: the run's recon_scale)")
    model_source(p)

    p = sub.add_parser("neighbours", help="the nearest images of a folder by cosine similarity "
                                          "of codes; or --duplicates in the folder")
    p.add_argument("queries", nargs="*", help="image files to find neighbours of")
    p.add_argument("--index", required=True, metavar="DIR",
                   help="folder searched (its codes are cached in <run>/index_cache/)")
    p.add_argument("-k", type=int, default=8, help="neighbours per query (default 8)")
    p.add_argument("-o", "--output", default=None,
                   help="grid image (.png): one row per query, the query first; with "
                        "--duplicates a .csv of the pairs")
    p.add_argument("--duplicates", action="store_true",
                   help="list the pairs of the folder whose codes are near-identical")
    p.add_argument("--threshold", type=float, default=DUPLICATE_THRESHOLD,
                   help=f"cosine similarity of a duplicate pair (default {DUPLICATE_THRESHOLD})")
    p.add_argument("--no-cache", action="store_true", help="encode the folder again, no cache")
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

    export_run(*run_of(args), args.weights,
               saved_model=not args.no_saved_model, log=log)


def run_evaluate(args, log=print):
    from ..train.hardware import accelerators  # loads Keras
    from ..use.evaluation import evaluate_run

    evaluate_run(*run_of(args), args.weights, n=args.images, fid=not args.no_fid, log=log,
                 fid_network=args.fid_network, fid_images=args.fid_images,
                 fid_real=args.fid_real, accelerator=bool(accelerators()))


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


# The latent tools (use/latent/, docs/latent.md) ------------------------------------
def _beside_run(model, path, log):
    """Copy a direction file and its sidecar into <run>/directions/."""
    from ..use.latent import files  # loads Keras

    if model.home is None:
        return
    target = model.home / "directions" / Path(path).name
    if target.resolve() != Path(path).resolve():
        files.save_direction(target, *files.load_direction(path))
        log(f"  and a copy in {target}")


def _score(info):
    if "heldout_accuracy" in info:
        return (f"held-out accuracy {info['heldout_accuracy']:.3f} (balanced "
                f"{info['heldout_balanced_accuracy']:.3f}; chance {info['chance']:.3f})")
    return f"held-out R^2 {info['heldout_r2']:.3f}"


def _limited(values, limit, seed):
    """Indices of at most `limit` examples per class (two classes) or in all."""
    if not limit:
        return np.arange(len(values))
    rng = np.random.default_rng(seed)
    distinct = np.unique(values)
    groups = [np.flatnonzero(values == v) for v in distinct] if len(distinct) == 2 \
        else [np.arange(len(values))]
    return np.sort(np.concatenate([rng.permutation(g)[:limit] for g in groups]))


def run_direction(args, log=print):
    from ..use.latent import files  # loads Keras

    out = _output(args.output, (".npy",))
    if args.labels is None and args.positive is None and args.negative is None:
        raise OganError("give --positive DIR and --negative DIR, or --labels FILE")
    if args.labels is not None and (args.positive or args.negative):
        raise OganError("give either --positive/--negative or --labels, not both")
    if args.labels is None:
        if args.positive is None or args.negative is None:
            raise OganError("--positive and --negative go together: a direction needs "
                            "examples of both classes")
        if Path(args.positive).resolve() == Path(args.negative).resolve():
            raise OganError(f"--positive and --negative are the same folder {args.positive}: "
                            "one class only")
        model = _model(args, log)
        pos, neg = _limited_folder(args.positive, args), _limited_folder(args.negative, args)
        direction = model.direction(pos, neg, attribute=out.stem, heldout=args.heldout,
                                    seed=args.seed)
        direction.info.update(positive=str(args.positive), negative=str(args.negative))
    else:
        names, values, attribute = files.read_labels(args.labels, args.attribute)
        if len(np.unique(values)) < 2:
            raise OganError(f"{args.labels}: all {len(values)} images have the same "
                            f"{attribute} ({values[0]:g}): one class only; a direction needs "
                            "examples of both sides")
        keep = _limited(values, args.limit, args.seed)
        folder = Path(args.images) if args.images else files.labels_folder(args.labels)
        model = _model(args, log)
        direction = model.direction(images=[str(folder / names[i]) for i in keep],
                                    values=values[keep], attribute=attribute,
                                    heldout=args.heldout, seed=args.seed)
        direction.info.update(labels=str(args.labels), images_folder=str(folder))
    direction.save(out)
    info = direction.info
    counts = ", ".join(f"{v} {k}" for k, v in info["counts"].items())
    log(f"wrote the direction {info['attribute']!r} of run {info['run']!r} (step "
        f"{info['step']}) to {out}: {counts} image(s); {_score(info)}")
    _beside_run(model, out, log)


def _limited_folder(folder, args):
    from ..use.latent import files  # loads Keras

    paths = files.list_images(folder)
    if args.limit:
        order = np.random.default_rng(args.seed).permutation(len(paths))[:args.limit]
        paths = [paths[i] for i in np.sort(order)]
    return paths


def run_principal(args, log=print):
    from ..use.latent import files  # loads Keras

    out = _output(args.output, _IMAGE_SUFFIXES)
    if args.k < 1 or args.steps < 2:
        raise OganError(f"-k must be at least 1 and --steps at least 2 (got {args.k}, "
                        f"{args.steps})")
    model = _model(args, log)
    axes = model.principal(args.images, k=args.k, samples=args.samples)
    start = model.images([args.start]) if args.start else None
    walks = model.walk(axes, args.steps, args.span, start, args.scale)
    _write_image(out, _grid(walks.reshape((-1,) + walks.shape[2:]), args.steps))
    log(f"wrote {len(walks)} walk(s) along the principal axes of the codes of "
        f"{axes['source']} to {out} (rows: axes; columns: -{args.span:g} to "
        f"+{args.span:g} std)")
    folder = model.home / "directions" / (
        f"principal-{Path(args.images).resolve().name}" if args.images else "principal-samples")
    for i, (axis, std, share) in enumerate(zip(axes["axes"], axes["std"], axes["explained"])):
        log(f"  axis {i + 1}: std {std:.3f}, {100 * share:.1f}% of the variance")
        files.save_direction(folder / f"pc{i + 1}.npy", axis, {
            "kind": "principal axis", "attribute": f"pc{i + 1}", **model.about(),
            "source": axes["source"], "count": axes["count"], "std": float(std),
            "explained": float(share)})
    log(f"  the axes as direction files (for `ogan-tf edit --direction`): {folder}/pc*.npy")


def run_edit(args, log=print):
    out = _output(args.output, _IMAGE_SUFFIXES)
    model = _model(args, log)
    images = model.images(args.images)
    edits = model.edit(images, args.direction, args.amounts, args.scale, args.orthogonal_to,
                       args.row)
    rows = np.concatenate([images[:, None], edits], axis=1)
    _write_image(out, _grid(rows.reshape((-1,) + rows.shape[2:]), rows.shape[1]))
    amounts = ",".join(f"{a:g}" for a in args.amounts)
    log(f"wrote {len(images)} row(s) (the image, then amounts {amounts}) to {out}")


def run_neighbours(args, log=print):
    from ..runs import write_text  # loads Keras
    from ..use import api

    if args.duplicates:
        out = _output(args.output, (".csv",)) if args.output else None
        if args.queries:
            raise OganError("--duplicates searches the --index folder itself; give no queries")
    else:
        if not args.queries or not args.output:
            raise OganError("give query images and -o grid.png (or --duplicates)")
        out = _output(args.output, _IMAGE_SUFFIXES)
        if args.k < 1:
            raise OganError(f"-k must be at least 1, got {args.k}")
    model = _model(args, log)
    index = model.index(args.index, cache=not args.no_cache)
    if args.duplicates:
        pairs = model.duplicates(index, args.threshold)
        log(f"{len(pairs)} pair(s) of {len(index)} image(s) with cosine similarity >= "
            f"{args.threshold:g}" + (":" if pairs else ""))
        for a, b, sim in pairs[:50]:
            log(f"  {sim:.4f}  {a}  {b}")
        if len(pairs) > 50:
            log(f"  ... and {len(pairs) - 50} more" + (f" (all in {out})" if out else ""))
        if out:
            import csv
            import io

            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(["file_a", "file_b", "similarity"])
            writer.writerows((a, b, f"{s:.6f}") for a, b, s in pairs)
            write_text(out, text.getvalue())
            log(f"wrote the pairs to {out}")
        return
    images, names = api.load_images(args.queries, model.resolution, log, model.crop_max)
    rows, sims = model.neighbours(images, index, args.k, query_names=names)
    found = [api.read_image(index.names[r], model.resolution, model.crop_max)
             for r in rows.ravel()]
    found = np.stack(found).reshape(rows.shape + images.shape[1:])
    strip = np.concatenate([images[:, None], found], axis=1)
    _write_image(out, _grid(strip.reshape((-1,) + strip.shape[2:]), strip.shape[1]))
    for name, row, sim in zip(names, rows, sims):
        log(f"{name}:")
        for r, s in zip(row, sim):
            log(f"  {s:.4f}  {index.names[r]}")
    log(f"wrote {len(images)} row(s) (the query, then its {rows.shape[1]} nearest) to {out}")


COMMANDS = {
    "export": run_export, "evaluate": run_evaluate, "encode": run_encode,
    "decode": run_decode, "reconstruct": run_reconstruct, "interpolate": run_interpolate,
    "direction": run_direction, "principal": run_principal, "edit": run_edit,
    "neighbours": run_neighbours, "claims": run_claims,
}
