"""The commands that train: `ogan-tf train` and `samples` (a run's grids).

train's override flags are made from the settings in config.py: one flag
per setting that has flag=True, with its help text, its choices and a
parser for its type (booleans take --x, --no-x, or --x on|off).
"""

import argparse
import types

from ..config import DEFAULT_PRESET, FOLDER_PRESET, SECTIONS, SETTINGS
from ..config_checks import auto_or_boolean
from ..data.choice import resolve_data
from ..messages import say
from .common import add_model_source, run_of


def on_off(text):
    """A boolean on the command line: on/off (true/false, yes/no, 1/0)."""
    value = {"on": True, "true": True, "yes": True, "1": True,
             "off": False, "false": False, "no": False, "0": False}.get(text.lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"use on or off, not {text!r}")
    return value


def decay_list(text):
    """--ema-decays 0.999,0.9999 -> (0.999, 0.9999); "none" -> ()."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"use comma-separated decays such as 0.999,0.9999 (or none), not {text!r}"
        ) from None


class OnOffAction(argparse.Action):
    """--x (on), --no-x (off) or --x on|off for a boolean setting; with
    auto=True also --x auto (a setting that may be "auto")."""

    def __init__(self, option_strings, dest, default=None, help=None, auto=False):
        negatives = ["--no-" + s[2:] for s in option_strings]
        self.auto = auto
        super().__init__([*option_strings, *negatives], dest, nargs="?", default=default,
                         metavar="auto|on|off" if auto else "on|off", help=help)

    def __call__(self, parser, namespace, value, option_string=None):
        if option_string.startswith("--no-"):
            if value is not None:
                raise argparse.ArgumentError(self, f"{option_string} takes no value")
            setattr(namespace, self.dest, False)
            return
        if self.auto and value == "auto":
            setattr(namespace, self.dest, "auto")
            return
        try:
            setattr(namespace, self.dest, True if value is None else on_off(value))
        except argparse.ArgumentTypeError as err:
            raise argparse.ArgumentError(self, str(err)) from None


def _flag_options(name, field):
    """argparse keywords for the setting `name`."""
    options = {"default": None, "help": field.metadata["help"]}
    kind = field.type
    choices = getattr(field.metadata["check"], "choices", None)
    if field.metadata["check"] is auto_or_boolean:  # jit_compile, fused_step
        return {**options, "action": OnOffAction, "auto": True}
    if kind is bool:
        return {**options, "action": OnOffAction}
    if kind is tuple:
        return {**options, "type": decay_list}
    if choices:
        return {**options, "choices": choices}
    if isinstance(kind, types.UnionType):  # int | None: given means an int
        kind = next(k for k in kind.__args__ if k is not type(None))
    return {**options, "type": kind}


def setting_flags(parser):
    """One --<setting> flag per settable Config field (None = not given)."""
    groups = {title: parser.add_argument_group(
        f"settings, {title}", "each overrides the preset's" if title == SECTIONS[0] else None)
        for title in SECTIONS}
    for name, field in SETTINGS.items():
        if field.metadata["flag"]:
            groups[field.metadata["section"]].add_argument(
                "--" + name.replace("_", "-"), dest=name, **_flag_options(name, field))


def add_parsers(sub, add_dirs):
    train = sub.add_parser("train", help="train (or resume) a run")
    train.add_argument("--data", default=None,
                       help="a preset name (default: the run's own when "
                            f"resuming, else {DEFAULT_PRESET}, offline), or a path (with a "
                            "'/') to a folder of images, an LMDB folder or a TFRecords set")
    train.add_argument("--preset", default=None,
                       help="with a data path: the preset whose networks and settings "
                            f"train on it (default: {FOLDER_PRESET}, the recipe that sizes "
                            "the model and steps to the folder; folder_author: the "
                            "author's 128 px DCGAN as in his scripts)")
    train.add_argument("--run", help="run name, or the folder of a run to resume (default: "
                                     "the data name; for a path, its last part)")
    train.add_argument("--fresh", action="store_true",
                       help="start over: move an existing run aside instead of resuming")
    train.add_argument("--dry-run", action="store_true",
                       help="print what would be trained (a new run or the step it resumes "
                            "from, and every setting, the folder recipe's choices with their "
                            "reasons included) and stop: nothing is written")
    add_dirs(train)
    setting_flags(train)

    samples = sub.add_parser("samples", help="write the three grids from a run")
    add_model_source(samples, samples=True)


def run_train(args, log=say):
    # Here, not at the top: the training stack loads Keras (see cli/__init__.py).
    from ..training import plan
    from ..training import train as training

    runs_dir, run_name = run_of(args) if args.run else (args.runs_dir, None)
    choice = resolve_data(args.data, args.preset, run_name)
    if choice.path:
        log(f"data: {choice.path} (preset {choice.preset!r}); run name {choice.run_name!r}"
            + ("" if args.run else " from the path (--run / RUN= picks another)"))
    overrides = {name: getattr(args, name) for name, f in SETTINGS.items()
                 if f.metadata["flag"]} | choice.overrides
    if args.dry_run:
        plan.dry_run(runs_dir, choice.run_name, choice.preset, overrides, args.fresh, log)
        return
    run = training.start_run(runs_dir, args.samples_dir, choice.run_name, choice.preset,
                             overrides, fresh=args.fresh, log=log)
    try:
        training.train(run, args.samples_dir, log=log)
    finally:
        run.release()  # the run's lock (train gives it up too)


def run_samples(args, log=say):
    from ..inference.grids import write_samples  # loads Keras (see cli/__init__.py)

    runs_dir, name = run_of(args)
    write_samples(runs_dir, args.samples_dir, name, weights=args.weights, log=log)


COMMANDS = {"train": run_train, "samples": run_samples}
