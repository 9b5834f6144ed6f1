"""`ogan-tf`: argument parsing and one-line errors, over every layer.

cli/train.py holds `train` and `samples`, cli/use.py the commands that use a
trained model, cli/view.py the page (`serve`) and `projector`. The commands'
modules import the layers below (Keras, TensorFlow) only when a command
runs: `ogan-tf --help` and argument errors stay instant.
"""

import argparse
import os
import sys

# Before TensorFlow loads: keep its C++ start-up chatter off the console.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from ..errors import OganError, RunStopped  # noqa: E402  (no keras import: --help stays instant)
from . import train, use, view  # noqa: E402
from .common import add_dirs  # noqa: E402

COMMANDS = {**train.COMMANDS, **use.COMMANDS, **view.COMMANDS}  # name -> handler(args)


def parser():
    top = argparse.ArgumentParser(prog="ogan-tf", description="O-GAN in Keras 3")
    sub = top.add_subparsers(dest="command", required=True)
    train.add_parsers(sub, add_dirs)
    use.add_parsers(sub, add_dirs)
    view.add_parsers(sub, add_dirs)
    return top


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
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(glue_list_values(argv))
    try:
        COMMANDS[args.command](args)
    except OganError as err:
        print(f"ogan-tf: error: {err}", file=sys.stderr)
        return 2
    except RunStopped as stop:  # SIGINT / SIGTERM during training: its last step is saved
        print(f"ogan-tf: {stop}", file=sys.stderr)
        return stop.status
    except KeyboardInterrupt:  # Ctrl-C outside training (loading, exporting)
        print("ogan-tf: interrupted; the last checkpoint is kept", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
