"""Writing a run's files so that a kill, a power cut or a full disk never
leaves a half file under a real name (docs/faults.md).

- atomic_write: the new content goes to a temporary file in the same folder,
  is flushed to disk, renamed over the target, and then the folder's entry
  is flushed too, so a power cut after the rename keeps the new file.
- append_line: one line added to a file (metrics.jsonl); a failed append is
  cut back, so the file never ends in half a line written by us.
- A full disk (ENOSPC, or a full quota: EDQUOT) becomes DiskFullError: one
  line naming the file, about how much space it needs and how much is free;
  the temporary file is removed and the previous file is left as it was.
"""

import errno
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import DiskFullError

_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# h5py and TensorFlow report a full disk in their message, not in errno.
_FULL_TEXTS = ("No space left on device", "Disk quota exceeded", "errno = 28")
RESUME_ADVICE = "free some space, then run the command again (training resumes from its " \
                "last checkpoint)"


def is_disk_full(err):
    """Whether `err`, or an error it was raised from, says the disk is full."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in _FULL_ERRNOS:
            return True
        if any(text in str(err) for text in _FULL_TEXTS):
            return True
        err = err.__cause__ or err.__context__
    return False


def size_text(size):
    """Bytes in words: 512 bytes, 3.4 kB, 12.0 MB, 1.50 GB."""
    if size < 1000:
        return f"{size} bytes"
    for unit, scale, digits in (("kB", 1e3, 1), ("MB", 1e6, 1), ("GB", 1e9, 2)):
        if size < scale * 1000 or unit == "GB":
            return f"{size / scale:.{digits}f} {unit}"


def free_space(path):
    """Bytes free to this user on the file system of `path` (or of the
    nearest folder above it that exists); None where it cannot be read."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def disk_full_error(path, needed, advice=RESUME_ADVICE):
    """The one-line DiskFullError for a write of about `needed` bytes to `path`."""
    free = free_space(Path(path).parent)
    where = "" if free is None else f", {size_text(free)} free there"
    need = f"it needs about {size_text(needed)}" if needed else "it needs more space"
    return DiskFullError(f"no space left on the device writing {path}: {need}{where}; "
                         f"{advice}")


def file_size(path):
    """Size in bytes of a file, or of all files under a folder (0 if missing)."""
    path = Path(path)
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return path.stat().st_size
    except OSError:
        return 0


def fsync_dir(folder):
    """Flush a folder's entries to disk (after a rename in it), where the
    file system supports it."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a folder; the rename itself stands
    finally:
        os.close(fd)


def fsync_tree(folder):
    """Flush every file and folder under `folder` to disk (before a rename
    makes the folder visible under its real name)."""
    for path in sorted(Path(folder).rglob("*"), reverse=True):
        if path.is_file():
            with open(path, "rb+") as f:
                os.fsync(f.fileno())
        elif path.is_dir():
            fsync_dir(path)
    fsync_dir(folder)


def atomic_write(path, write, suffix=None, expected_size=0, advice=RESUME_ADVICE):
    """Call write(tmp_path), then rename tmp_path to `path` (same folder).

    suffix: the temporary file's ending where the writer insists on one
    (Keras' save_weights wants ".weights.h5"); default the path's suffix.
    expected_size: about how many bytes the file will take, for the message
    of a full disk (the bytes written before the failure, the old file's
    size and this: the largest).
    """
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-",
                                   suffix=suffix or path.suffix)
        os.close(fd)
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        written = file_size(tmp) if tmp else 0
        if tmp and os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(err, Exception) and is_disk_full(err):
            needed = max(written, expected_size, file_size(path))
            raise disk_full_error(path, needed, advice) from None
        raise
    fsync_dir(path.parent)


def write_text(path, text, advice=RESUME_ADVICE):
    """Write a text file atomically (see atomic_write)."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text),
                 expected_size=len(text.encode()), advice=advice)


def append_line(path, line, advice=RESUME_ADVICE):
    """Append `line` (ending in a newline) to a file in one write; on a failure
    the file is cut back to its old length."""
    data = line.encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as err:
        if is_disk_full(err):
            raise disk_full_error(path, len(data), advice) from None
        raise
    try:
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        except BaseException as err:
            try:
                os.ftruncate(fd, start)
            except OSError:
                pass
            if isinstance(err, Exception) and is_disk_full(err):
                raise disk_full_error(path, len(data), advice) from None
            raise
    finally:
        os.close(fd)
