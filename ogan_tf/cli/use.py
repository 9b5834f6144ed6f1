"""The commands that use a trained model: export, evaluate, encode, decode,
reconstruct, interpolate, and the latent tools (direction, principal, edit,
neighbours). A table: each command's flags and one call into the layers
below (apps/commands.py, inference/export.py, evaluation/evaluate.py),
which import Keras only when a command runs (cli/__init__.py).
"""

import argparse

import numpy as np

from ..messages import say
from .common import add_model_source, run_of

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


def arg(*flags, **options):
    return flags, options


IMAGES = arg("images", nargs="+", help="image files (any size: centre-cropped, resized)")
SCALE = arg("--scale", type=float, default=None, help="s (default: the run's recon_scale)")
OUT_PNG = arg("-o", "--output", required=True, help="output grid image (.png)")


def _load(args, log):
    """The model --run names, loaded when a command's checks have passed."""
    from .. import api  # loads Keras

    return lambda: api.load(args.run, args.runs_dir, args.weights, log=log)


def run_export(args, log=say):
    from ..inference.export import export_run  # loads Keras

    export_run(*run_of(args), args.weights, saved_model=not args.no_saved_model, log=log)


def run_evaluate(args, log=say):
    from ..evaluation.evaluate import evaluate_run
    from ..training.hardware import accelerators  # loads Keras

    evaluate_run(*run_of(args), args.weights, n=args.images, fid=not args.no_fid, log=log,
                 fid_network=args.fid_network, fid_images=args.fid_images,
                 fid_real=args.fid_real, accelerator=bool(accelerators()))


def run_encode(args, log=say):
    from ..apps import commands  # loads Keras

    commands.encode(_load(args, log), args.images, args.output, args.raw, log)


def run_decode(args, log=say):
    from ..apps import commands  # loads Keras

    commands.decode(_load(args, log), args.codes, args.output, log)


def run_reconstruct(args, log=say):
    from ..apps import commands  # loads Keras

    commands.reconstruct(_load(args, log), args.images, args.output, args.scale, log)


def run_interpolate(args, log=say):
    from ..apps import commands  # loads Keras

    commands.interpolate(_load(args, log), args.a, args.b, args.output, args.steps, args.scale,
                         log)


def run_edit(args, log=say):
    from ..apps import commands  # loads Keras

    commands.edit(_load(args, log), args.images, args.direction, args.amounts, args.output,
                  args.scale, args.orthogonal_to, log, row=args.row)


def run_direction(args, log=say):
    from ..apps import commands  # loads Keras

    commands.direction(_load(args, log), args.output, args.positive, args.negative,
                       args.labels, args.attribute, args.images, args.limit, args.heldout,
                       args.seed, log)


def run_principal(args, log=say):
    from ..apps import commands  # loads Keras

    commands.principal(_load(args, log), args.output, args.images, args.k, args.steps,
                       args.span, args.samples, args.start, args.scale, args.directions, log)


def run_neighbours(args, log=say):
    from ..apps import commands  # loads Keras

    if args.duplicates:
        commands.duplicates(_load(args, log), args.index, args.output, args.threshold,
                            not args.no_cache, args.queries, log)
    else:
        commands.neighbours(_load(args, log), args.queries, args.index, args.output, args.k,
                            not args.no_cache, log)


# name: (help, handler, flags); every command also takes --run, --weights, --runs-dir
TABLE = {
    "export": ("write runs/<run>/export/: encoder.keras, encoder_raw.keras, generator.keras, "
               "SavedModels", run_export, [
                   arg("--no-saved-model", action="store_true",
                       help="write only the .keras files")]),
    "evaluate": ("FID, SWD, reconstruction and code figures into runs/<run>/eval.json and "
                 "metrics.jsonl", run_evaluate, [
                     arg("--images", type=int, default=None,
                         help="held-out images to use (default: the run's eval_images)"),
                     arg("--no-fid", action="store_true",
                         help="skip FID and KID (they need a feature network file)"),
                     arg("--fid-network", default="auto", metavar="NAME|FILE",
                         help="standard (the 2015-12-05 Inception graph, comparable with "
                              "papers), keras (Keras' InceptionV3: not comparable), auto "
                              "(standard where placed, else keras; the default) or the graph "
                              "file's path"),
                     arg("--fid-images", type=int, default=None, metavar="N",
                         help="samples for FID and KID (default: 50000 with a GPU, the "
                              "fid50k_full convention; else 1000)"),
                     arg("--fid-real", type=int, default=None, metavar="N",
                         help="real training images of the cached reference statistics (0: "
                              "all; default: all with a GPU, else as many as --fid-images)")]),
    "encode": ("codes N(E(x)) of images, saved as .npy", run_encode, [
        IMAGES, arg("-o", "--output", required=True, help="output .npy, (n, z_dim) float32"),
        arg("--raw", action="store_true", help="save E(x) instead of N(E(x))")]),
    "decode": ("images G(codes) from a .npy of codes, as a grid", run_decode, [
        arg("codes", help=".npy of (n, z_dim) codes"), OUT_PNG]),
    "reconstruct": ("grid of (image, G(s N(E(image)))) pairs", run_reconstruct, [
        IMAGES, OUT_PNG, SCALE]),
    "interpolate": ("strip: A, decoded mixes of the codes of A and B, B", run_interpolate, [
        arg("a"), arg("b"), arg("-o", "--output", required=True,
                                help="output strip image (.png)"),
        arg("--steps", type=int, default=10, help="decoded mixes (default 10)"), SCALE]),
    "direction": ("an attribute's direction in code space from examples (two folders, or a "
                  "table of labels), saved as .npy", run_direction, [
                      arg("--positive", metavar="DIR",
                          help="folder of images with the attribute"),
                      arg("--negative", metavar="DIR", help="folder of images without it"),
                      arg("--labels", metavar="FILE",
                          help="a CelebA-style table (list_attr_celeba.txt: names, then "
                               "'file 1 -1 ...' per image), a CSV of file,value (a "
                               "continuous attribute), or a StyleGAN2-ADA dataset .zip (its "
                               "dataset.json labels)"),
                      arg("--attribute",
                          help="the table's column (needed when it has several); of a "
                               "dataset zip, a class N (against the rest) or a label "
                               "vector's column N"),
                      arg("--images", metavar="DIR",
                          help="where the table's files are (default: the table's folder)"),
                      arg("-o", "--output", required=True,
                          help="output .npy (a JSON sidecar is written beside it, and both "
                               "are copied to <run>/directions/)"),
                      arg("--limit", type=int, default=0,
                          help="use at most N images per class (of a continuous attribute: "
                               "in all), a fixed random choice (default: all)"),
                      arg("--heldout", type=float, default=0.2,
                          help="fraction held out to score the read-out (default 0.2)"),
                      arg("--seed", type=int, default=0,
                          help="seed of the split and --limit")]),
    "principal": ("principal axes of the codes, and a grid walking each from -3 to +3 "
                  "standard deviations", run_principal, [
                      arg("--images", metavar="DIR", help="folder of real images (default: "
                                                          "the codes of generated images)"),
                      OUT_PNG,
                      arg("-k", type=int, default=8,
                          help="axes to walk, one row each (default 8)"),
                      arg("--steps", type=int, default=7, help="images per row (default 7)"),
                      arg("--span", type=float, default=3.0,
                          help="walk from -span to +span std"),
                      arg("--samples", type=int, default=2000,
                          help="generated images without --images (default 2000)"),
                      arg("--from", dest="start", metavar="IMAGE",
                          help="walk around this image's code instead of the mean code"),
                      SCALE,
                      arg("--directions", metavar="DIR", default=None,
                          help="where the axes go as direction files pc1.npy, ... "
                               "(default: <run>/directions/principal-<images folder or "
                               "samples>)")]),
    "edit": ("rows of image, G(s N(E(image)) + a d) for each amount a", run_edit, [
        IMAGES,
        arg("--direction", required=True, metavar="FILE",
            help="a direction .npy: from `ogan-tf direction` or `principal`, or the "
                 "field's (1, z_dim) InterFaceGAN boundary or (k, z_dim) rows with --row"),
        arg("--row", type=int, default=None, metavar="N",
            help="the row of a (k, z_dim) direction file (GANSpace components)"),
        arg("--amounts", type=amount_list, default=(-2.0, -1.0, 0.0, 1.0, 2.0),
            help="comma-separated amounts a (default -2,-1,0,1,2)"),
        arg("--orthogonal-to", nargs="+", action="extend", default=[], metavar="FILE",
            help="directions whose components are removed from the direction first"),
        OUT_PNG, SCALE]),
    "neighbours": ("the nearest images of a folder by cosine similarity of codes; or "
                   "--duplicates in the folder", run_neighbours, [
                       arg("queries", nargs="*", help="image files to find neighbours of"),
                       arg("--index", required=True, metavar="DIR",
                           help="folder searched (its codes are cached in "
                                "<run>/index_cache/)"),
                       arg("-k", type=int, default=8,
                           help="neighbours per query (default 8)"),
                       arg("-o", "--output", default=None,
                           help="grid image (.png): one row per query, the query first; "
                                "with --duplicates a .csv of the pairs"),
                       arg("--duplicates", action="store_true",
                           help="list the pairs of the folder whose codes are "
                                "near-identical"),
                       arg("--threshold", type=float, default=DUPLICATE_THRESHOLD,
                           help="cosine similarity of a duplicate pair (default "
                                f"{DUPLICATE_THRESHOLD})"),
                       arg("--no-cache", action="store_true",
                           help="encode the folder again, no cache")]),
}
COMMANDS = {name: handler for name, (_, handler, _) in TABLE.items()}


def add_parsers(sub, add_dirs=None):
    for name, (help_text, _, flags) in TABLE.items():
        parser = sub.add_parser(name, help=help_text)
        for names, options in flags:
            parser.add_argument(*names, **options)
        add_model_source(parser)
