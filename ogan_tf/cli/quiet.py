"""A quiet start: `ogan-tf`'s own first line comes first.

While `import tensorflow` runs, TensorFlow's C++ libraries write start-up
notices to stderr ("Could not find cuda drivers on your machine", twice on a
CPU machine; the oneDNN notice), some of them before its logging has read
TF_CPP_MIN_LOG_LEVEL, so that setting alone does not hide them. The CLI
sets the level where the user has not (3: FATAL only; errors
that matter reach the user as Python exceptions, which the CLI prints as
one line) and filters what the import writes by that same level: a log
line below it is dropped, every other line is written as it came. A user
who sets TF_CPP_MIN_LOG_LEVEL=0 sees everything.
"""

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile

DEFAULT_LEVEL = "3"
# absl's log lines: a severity letter, MMDD, then time, thread, file:line] text.
LOG_LINE = re.compile(r"([IWEF])\d{4} ")
SEVERITIES = "IWEF"  # TF_CPP_MIN_LOG_LEVEL n hides the first n of these
ABSL_PREAMBLE = ("WARNING: All log messages before absl::InitializeLog() is called are "
                 "written to STDERR")


def quiet_tensorflow_start(environ=os.environ, module="tensorflow"):
    """Set TF_CPP_MIN_LOG_LEVEL where unset and have the first import of
    `module` filter its stderr by it (nothing where it is already imported
    or the level shows everything)."""
    level = environ.setdefault("TF_CPP_MIN_LOG_LEVEL", DEFAULT_LEVEL)
    hidden = int(level) if level.isdigit() else 0
    if hidden and module not in sys.modules:
        sys.meta_path.insert(0, FilteredFirstImport(module, hidden))


def kept_lines(text, hidden):
    """The lines of `text` that TF_CPP_MIN_LOG_LEVEL=hidden lets through: a
    log line of a lower severity goes, with the lines that continue it."""
    kept, dropping = [], False
    for line in text.splitlines(keepends=True):
        match = LOG_LINE.match(line)
        if match:
            dropping = SEVERITIES.index(match.group(1)) < hidden
        elif line.rstrip("\n") == ABSL_PREAMBLE:  # a notice about the lines after it
            dropping = hidden > 0
        if not dropping:
            kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def filtered_stderr(hidden):
    """Within: what is written to file descriptor 2 (by Python or C++) is
    held, then written out by kept_lines(..., hidden) on the way out."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to filter
        yield
        return
    sys.stderr.flush()
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = kept_lines(held.read().decode(errors="replace"), hidden)
            if text:
                os.write(2, text.encode())


class FilteredFirstImport(importlib.abc.MetaPathFinder):
    """Runs the first import of `name` inside filtered_stderr, then steps
    aside (it finds nothing itself: the other finders find the module)."""

    def __init__(self, name, hidden):
        self.name, self.hidden = name, hidden

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            with filtered_stderr(self.hidden):
                run(module)

        spec.loader.exec_module = exec_module
        return spec
