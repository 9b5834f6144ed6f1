"""`ogan-tf`: argument parsing and one-line errors, over every layer.

cli/train.py holds the commands that train (`train`, `samples`),
cli/use.py a table of the commands that use a trained model, cli/view.py the
page (`serve`) and `projector`, cli/common.py what their parsers share
(--run and its one resolver). The commands'
modules import the layers below (Keras, TensorFlow) only when a command
runs: `ogan-tf --help` and argument errors stay instant.
"""

import argparse
import sys

from .. import __version__
from ..errors import OganError, RunStopped  # no keras import: --help stays instant
from ..messages import install_console
from . import train, use, view
from .common import add_dirs
from .quiet import quiet_tensorflow_start

# Exit statuses (docs/using.md): a usage error is argparse's 2.
EXIT_ERROR = 1  # the command ran and failed (a missing run, a bad file): one line says why
EXIT_SIGINT, EXIT_SIGTERM = 130, 143  # 128 + the signal, as shells report it

COMMANDS = {**train.COMMANDS, **use.COMMANDS, **view.COMMANDS}  # name -> handler(args)


def parser():
    top = argparse.ArgumentParser(prog="ogan-tf", description="O-GAN in Keras 3")
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = top.add_subparsers(dest="command", required=True)
    train.add_parsers(sub, add_dirs)
    use.add_parsers(sub, add_dirs)
    view.add_parsers(sub, add_dirs)
    for command in [top, *sub.choices.values()]:  # before or after the command's name
        add_verbosity(command, argparse.SUPPRESS if command is not top else 0)
    return top


def add_verbosity(parser, default):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=-1,
                       default=default, help="warnings and errors only")
    group.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const=1,
                       default=default, help="more detail")


def glue_list_values(argv):
    """["--amounts", "-2,-1,0"] -> ["--amounts=-2,-1,0"]: argparse reads a
    value that starts with "-" as an option unless it is a single number."""
    out = []
    for arg in argv:
        if out and out[-1] in use.LIST_OPTIONS and len(arg) > 1 and \
                arg[0] == "-" and arg[1] in "0123456789.":
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def main(argv=None):
    quiet_tensorflow_start()  # before TensorFlow loads: our first line first
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(glue_list_values(argv))
    install_console(args.verbosity)
    try:
        COMMANDS[args.command](args)
    except OganError as err:
        print(f"ogan-tf: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except RunStopped as stop:  # SIGINT / SIGTERM during training: its last step is saved
        print(f"ogan-tf: {stop}", file=sys.stderr)
        return stop.status
    except KeyboardInterrupt:  # Ctrl-C outside training (loading, exporting)
        print("ogan-tf: interrupted; the last checkpoint is kept", file=sys.stderr)
        return EXIT_SIGINT
    return 0


if __name__ == "__main__":
    sys.exit(main())
