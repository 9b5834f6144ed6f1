"""What ogan_tf says: every message goes to the ``ogan_tf`` logger, and a
run's progress to one display.

Library code reports through a ``log`` callable whose default is ``say``:
a line to the logger at INFO, or at WARNING where it starts with
"warning: " (the console handler puts the word back). A Python user
silences or redirects them the usual way, e.g.
``logging.getLogger("ogan_tf").setLevel(logging.WARNING)``.

The CLI installs ``ConsoleHandler``: INFO and below on stdout, warnings
and errors on stderr, plain lines. On a terminal it also keeps one live
progress line at the bottom (``progress``), redrawn in place and cleared
before any other message; in a file or a pipe there are no escape codes
and no redraws, only a plain progress line at each log interval. On a
terminal the words "warning:" and "error:" are coloured unless NO_COLOR
is set (no-color.org).
"""

import logging
import os
import re
import shutil
import sys

LOGGER_NAME = "ogan_tf"
logger = logging.getLogger(LOGGER_NAME)
# "warning: ...", "data: warning: ...", "  warning: ..." (a warning inside a list)
WARNING_LINE = re.compile(r"^(\s*)((?:\w+: )?)warning: ")
LIVE_EVERY_S = 0.5  # how often the live line is redrawn at most
COLOURS = {"warning": "\033[33m", "error": "\033[31m"}  # on a terminal, unless NO_COLOR
RESET = "\033[0m"


def say(message):
    """The default `log`: one message to the ogan_tf logger (INFO, or
    WARNING for a "warning: " line, which is passed on without the word)."""
    text = str(message).strip("\n")
    match = WARNING_LINE.match(text)
    if match:
        logger.warning(match.group(1) + match.group(2) + text[match.end():])
    else:
        logger.info(text)


def detail(message):
    """A line for -v (DEBUG): what a person reads only when looking closely."""
    logger.debug(str(message))


class ConsoleHandler(logging.Handler):
    """Plain lines for a person or a file: INFO/DEBUG on `out`, WARNING and
    above on `err` prefixed "warning: " or "error: ". `live`: whether `out` is
    a terminal, where progress() shows one line redrawn in place."""

    def __init__(self, out=None, err=None, live=None):
        super().__init__()
        self._out, self._err, self._live = out, err, live  # None: sys's streams of the moment
        self.status = ""  # the live line now shown ("" = none)

    @property
    def out(self):
        return self._out or sys.stdout

    @property
    def err(self):
        return self._err or sys.stderr

    @property
    def live(self):
        return is_terminal(self.out) if self._live is None else self._live

    @property
    def colour(self):
        return is_terminal(self.err) and not os.environ.get("NO_COLOR")

    def emit(self, record):
        try:
            text = record.getMessage()
            if record.levelno >= logging.WARNING:
                word = "error" if record.levelno >= logging.ERROR else "warning"
                colour = COLOURS[word] if self.colour else ""
                text = f"{colour}{word}:{RESET if colour else ''} {text}"
            stream = self.err if record.levelno >= logging.WARNING else self.out
            shown = self.status
            self.clear_status()
            stream.write(text + "\n")
            stream.flush()
            if shown:
                self.show_status(shown)
        except Exception:  # a closed stream must not stop a run
            self.handleError(record)

    def show_status(self, text):
        """Redraw the live line (a terminal only), cut to the terminal's width."""
        width = shutil.get_terminal_size((100, 20)).columns - 1
        text = text[:width]
        self.out.write("\r" + text.ljust(len(self.status)))
        self.out.flush()
        self.status = text

    def clear_status(self):
        if self.status:
            self.out.write("\r" + " " * len(self.status) + "\r")
            self.out.flush()
            self.status = ""


def is_terminal(stream):
    """A terminal that can redraw a line (not TERM=dumb)."""
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


def console():
    """The ConsoleHandler on the ogan_tf logger, if the CLI installed one."""
    return next((h for h in logger.handlers if isinstance(h, ConsoleHandler)), None)


def install_console(verbosity=0, out=None, err=None):
    """The CLI's logging: a ConsoleHandler on the ogan_tf logger at INFO
    (verbosity -1: WARNING, --quiet; 1: DEBUG, -v). Returns the handler."""
    for handler in list(logger.handlers):
        if isinstance(handler, ConsoleHandler):
            logger.removeHandler(handler)
    handler = ConsoleHandler(out, err)
    logger.addHandler(handler)
    logger.setLevel({-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG))
    logger.propagate = False  # one copy of each line, whatever the root logger does
    return handler


def progress(text, interval_end, log=None):
    """A run's progress line. On the CLI's terminal it is the live line
    (each call redraws it; the last one stays when training ends); anywhere
    else only the calls at an interval's end are written, as plain lines
    through `log` (default: say)."""
    handler = console()
    if handler is not None and handler.live and log in (None, say):
        if logger.isEnabledFor(logging.INFO):
            handler.show_status(text)
        return
    if interval_end:
        (log or say)(text)


def end_progress():
    """Training ended: the live line, if any, stays as an ordinary line."""
    handler = console()
    if handler is not None and handler.status:
        handler.out.write("\n")
        handler.out.flush()
        handler.status = ""
