"""The exceptions the CLI turns into one line: OganError (exit status 1)
and RunStopped (a run stopped by a signal: exit status 128 + the signal)."""


class OganError(Exception):
    """A problem the user can fix; the message says how."""


class ConfigError(OganError):
    """Settings that cannot work (bad resolution, z_dim, names)."""


class CheckpointError(OganError):
    """A checkpoint that is missing, corrupt, or from another model."""


class DataError(OganError):
    """A data set that is missing, empty or unreadable as a whole."""


class DiskFullError(OganError):
    """No space left while writing a file; the previous file is intact."""


class RunInUseError(OganError):
    """Another trainer holds the run's lock."""


class DivergedError(OganError):
    """The loss or the weights went to NaN or infinity; nothing of it was saved."""


class RunStopped(Exception):
    """A run stopped on request (SIGINT, SIGTERM) after saving its last step.

    status: the exit status a shell expects (130 for SIGINT, 143 for SIGTERM).
    """

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def first_line(err):
    """An exception as a short reason inside a one-line error: its message's
    first line (at most 200 characters), or its type's name if it has none."""
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__
