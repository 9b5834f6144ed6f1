"""The one exception type the CLI turns into a one-line error."""


class OganError(Exception):
    """A problem the user can fix; the message says how."""


class ConfigError(OganError):
    """Settings that cannot work (bad resolution, z_dim, names)."""


class CheckpointError(OganError):
    """A checkpoint that is missing, corrupt, or from another model."""


class DataError(OganError):
    """A data set that is missing, empty or unreadable as a whole."""


def first_line(err):
    """An exception as a short reason inside a one-line error: its message's
    first line (at most 200 characters), or its type's name if it has none."""
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__
