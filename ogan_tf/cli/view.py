"""The commands that show what a model learned: `serve` (a local page) and
`projector` (the codes in TensorBoard's embedding projector).
Each handler imports what it needs when it runs (see cli/__init__.py)."""

from ..messages import say
from .common import add_model_source

DEFAULT_PORT = 8765


def add_parsers(sub, add_dirs):
    model_source = add_model_source
    p = sub.add_parser("serve", help="a local page on 127.0.0.1: encode, reconstruct, slide "
                                     "along directions, interpolate, neighbours, samples")
    model_source(p)
    p.add_argument("--images", metavar="DIR",
                   help="folder searched for nearest neighbours (codes cached in "
                        "<run>/index_cache/, as `ogan-tf neighbours`)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port (default {DEFAULT_PORT}; 0: a free one)")
    p.add_argument("--host", default="127.0.0.1", metavar="ADDRESS",
                   help="address to serve on, and the name the page answers to besides "
                        "127.0.0.1 and localhost (default 127.0.0.1: this machine only; "
                        "from another machine, an ssh tunnel keeps it so, see docs/page.md)")
    p.add_argument("--max-pixels", type=int, metavar="N",
                   help="largest image an upload may decode to, width x height (default: "
                        "16 times the model's pixels, at least 16 and at most 40 million)")
    p.add_argument("--samples", type=int, default=1000,
                   help="generated images whose codes give the principal axes when there is "
                        "no --images (default 1000; 0: no axes)")

    p = sub.add_parser("projector", help="the codes of images for TensorBoard's embedding "
                                         "projector: tensors, metadata, sprite, config")
    p.add_argument("images", nargs="+", help="image files or folders")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="folder for the files (then: tensorboard --logdir DIR)")
    p.add_argument("--labels", metavar="FILE",
                   help="a CelebA attribute table (list_attr_celeba.txt) or a CSV of "
                        "file,value...: its columns join the metadata")
    p.add_argument("--attribute", action="append", default=[], metavar="NAME",
                   help="a column of --labels to keep (repeat; default: all)")
    model_source(p)


def run_serve(args, log=say):
    from ..apps.serve import serve  # loads Keras

    serve(args.run, args.runs_dir, args.weights, args.images, args.port, args.samples, log,
          host=args.host, max_pixels=args.max_pixels)


def run_projector(args, log=say):
    from .. import api  # loads Keras
    from ..apps import projector  # loads Keras
    from ..errors import OganError

    if args.attribute and not args.labels:
        raise OganError("--attribute picks columns of --labels; give --labels FILE")
    model = api.load(args.run, args.runs_dir, args.weights, log=log)
    projector.write_projector(model, args.images, args.output, args.labels, args.attribute, log)


COMMANDS = {"serve": run_serve, "projector": run_projector}
