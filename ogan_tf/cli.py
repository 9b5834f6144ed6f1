"""`ogan-tf train | samples | export | evaluate | encode | ...`: argument
parsing and one-line errors (the commands using a trained model: commands.py)."""

import argparse
import os
import sys

# Before TensorFlow loads: keep its C++ start-up chatter off the console.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from . import commands  # noqa: E402
# (no keras import: --help stays instant)
from .config import DEFAULT_PRESET, PRECISIONS, STRATEGY_NAMES  # noqa: E402

# CLI flag -> Config field, for settings a user may override per run.
_OVERRIDES = {
    "steps": int, "resolution": int, "variant": str, "z_dim": int,
    "channels": int, "batch_size": int, "rho_weight": float,
    "recon_scale": float, "log_every": int, "sample_every": int,
    "checkpoint_every": int, "keep_checkpoints": int, "seed": int,
    "dataset_size": int, "ema_decays": lambda text: tuple(float(d) for d in text.split(",")),
    "data_dir": str, "crop_max": int,
}
_JIT = {"auto": "auto", "on": True, "off": False}


def _speed_flags(parser):
    """Speed options (README "Speed"); None = not given."""
    parser.add_argument("--precision", choices=PRECISIONS, default=None,
                        help="dtype policy of G and E; the loss stays float32 "
                             "(default float32, the author's)")
    parser.add_argument("--fused-step", action=argparse.BooleanOptionalAction, default=None,
                        help="one E pass on G(z) serves both players, same gradients "
                             "(TensorFlow and JAX; default off)")
    parser.add_argument("--jit-compile", choices=list(_JIT), default=None,
                        help="XLA: auto (Keras' choice: on with a GPU, off on CPU), on, off")


def _scale_flags(parser):
    """Scaling out (README "Scaling out"); None = not given."""
    parser.add_argument("--strategy", choices=STRATEGY_NAMES, default=None,
                        help="none (one device, default); mirrored (TensorFlow, all local "
                             "GPUs); multi-worker (TensorFlow, several machines, cluster "
                             "from $TF_CONFIG); data-parallel (JAX, all devices). "
                             "--batch-size is the global batch")
    parser.add_argument("--sync-batchnorm", action=argparse.BooleanOptionalAction,
                        default=None,
                        help="BatchNorm statistics over the global batch on every replica "
                             "(default: each replica's own rows)")


def _speed_overrides(args):
    jit = None if args.jit_compile is None else _JIT[args.jit_compile]
    return {"precision": args.precision, "fused_step": args.fused_step, "jit_compile": jit,
            "strategy": args.strategy, "sync_batchnorm": args.sync_batchnorm}


def _on_off(text):
    """A boolean setting on the command line: on/off (true/false, yes/no, 1/0)."""
    value = {"on": True, "true": True, "yes": True, "1": True,
             "off": False, "false": False, "no": False, "0": False}.get(text.lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"use on or off, not {text!r}")
    return value


# Loss variants, evaluation and TensorBoard during training, export (issue 4).
_OVERRIDES.update(gan_loss=str, encoder_term=str, eval_every=int, eval_images=int,
                  eval_fid=_on_off, tensorboard=_on_off, export_at_end=str)


def _parser():
    parser = argparse.ArgumentParser(prog="ogan-tf", description="O-GAN in Keras 3")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train (or resume) a run")
    train.add_argument("--data", default=None,
                       help="preset name from experiments/ (default: the run's own when "
                            f"resuming, else {DEFAULT_PRESET}, offline), or a path (with a "
                            "'/') to a folder of images, an LMDB folder or a TFRecords set")
    train.add_argument("--run", help="run name (default: the data name; for a path, "
                                     "its last part)")
    train.add_argument("--fresh", action="store_true",
                       help="start over: move an existing run aside instead of resuming")
    for name, kind in _OVERRIDES.items():
        train.add_argument("--" + name.replace("_", "-"), type=kind, default=None,
                           help=f"override the preset's {name}"
                           + (" (comma-separated, e.g. 0.999,0.9999)" if name == "ema_decays"
                              else ""))
    _speed_flags(train)
    _scale_flags(train)
    train.add_argument("--jpeg-draft", action=argparse.BooleanOptionalAction, default=None,
                       help="decode JPEGs at a reduced scale that covers the crop (default); "
                            "--no-jpeg-draft decodes them in full, as the author")
    _dirs(train)

    samples = sub.add_parser("samples", help="write the three grids from a run")
    samples.add_argument("--run", default=DEFAULT_PRESET,
                         help=f"run name (default: {DEFAULT_PRESET})")
    samples.add_argument("--weights", default="auto",
                         help="auto (the first EMA where the run keeps EMAs, else raw), "
                              "raw, or an EMA decay such as 0.999")
    _dirs(samples)
    commands.add_parsers(sub, _dirs, DEFAULT_PRESET)  # export, evaluate, encode, ...
    return parser


def _dirs(parser):
    parser.add_argument("--runs-dir", default="runs", help="where runs live (default: runs)")
    parser.add_argument("--samples-dir", default="samples",
                        help="where grids go (default: samples)")


def _data_path(path, run):
    """--data <path>: the `folder` preset (it detects folder, LMDB or
    TFRecords) on that path; the run is named after the path unless --run."""
    from .data import run_name_for_path

    path = os.path.abspath(os.path.expanduser(path))
    name = run or run_name_for_path(path)
    print(f"data: {path} (preset 'folder'); run name {name!r}"
          + ("" if run else " from the path (--run / RUN= picks another)"))
    return "folder", name, path


def main(argv=None):
    args = _parser().parse_args(argv)
    # Imported here so that --help and argument errors stay instant.
    from . import data, training
    from .errors import OganError

    try:
        if args.command == "train":
            overrides = {name: getattr(args, name) for name in _OVERRIDES}
            overrides.update(_speed_overrides(args))
            overrides["jpeg_draft"] = args.jpeg_draft
            preset, name = args.data, args.run or args.data or DEFAULT_PRESET
            if args.data and data.is_data_path(args.data):
                preset, name, overrides["data_path"] = _data_path(args.data, args.run)
            run = training.start_run(
                args.runs_dir, args.samples_dir, name, preset, overrides, fresh=args.fresh,
            )
            training.train(run, args.samples_dir)
        elif args.command == "samples":
            training.write_samples(
                args.runs_dir, args.samples_dir, args.run, weights=args.weights
            )
        elif args.command in commands.NAMES:
            commands.run(args)
    except OganError as err:
        print(f"ogan-tf: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ogan-tf: interrupted; the last checkpoint is kept", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
