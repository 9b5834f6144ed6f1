"""What several commands' parsers share: the folders, and the model a
command uses (--run, --weights) with its one resolver (runs/resolve.py)."""

from ..config import DEFAULT_PRESET

WEIGHTS_HELP = ("auto (the first EMA where the run keeps EMAs, else raw), raw, "
                "or an EMA decay such as 0.999")
RUN_HELP = f"run name, or a run or export folder (default: {DEFAULT_PRESET})"


def add_dirs(parser, samples=True):
    parser.add_argument("--runs-dir", default="runs", help="where runs live (default: runs)")
    if samples:
        parser.add_argument("--samples-dir", default="samples",
                            help="where grids go (default: samples)")


def add_model_source(parser, samples=False):
    """--run (a run name, a run folder or an export folder), --weights, the folders."""
    parser.add_argument("--run", default=DEFAULT_PRESET, help=RUN_HELP)
    parser.add_argument("--weights", default="auto", help=WEIGHTS_HELP)
    add_dirs(parser, samples=samples)


def run_of(args):
    """(runs_dir, name) of the run that --run names, for the commands that
    need the run itself (its data, checkpoints): an export folder inside a
    run folder names that run."""
    from ..runs.resolve import resolve  # loads Keras (see cli/__init__.py)

    return resolve(args.run, args.runs_dir).run(f"`ogan-tf {args.command}`")
