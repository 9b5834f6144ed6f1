"""One trainer per run: the file ``runs/<run>/lock`` (docs/faults.md).

The lock is a file created atomically (O_CREAT | O_EXCL, which also holds on
network file systems) holding the trainer's process id, host, start time and
command. While it lives, the trainer also holds an flock on it, which the
kernel drops when the process dies, however it dies.

A second trainer finds the file and stops with a one-line error saying who
holds it. A lock left by a process that is gone (killed with SIGKILL, a
machine that rebooted) is stale: on the same host, a dead process id, or an
flock nobody holds, says so, and the lock is taken over with a warning. A
lock of another host is never taken over: its message says to remove the
file if that trainer no longer runs.
"""

import atexit
import contextlib
import json
import os
import socket
import sys
import time
from pathlib import Path

from ..errors import RunInUseError
from ..messages import say

try:
    import fcntl
except ImportError:  # not on Windows: the pid check alone
    fcntl = None

LOCK_NAME = "lock"
_HELD = {}  # path -> RunLock held by this process
_YOUNG_S = 5.0  # an empty lock file younger than this is being written


def _flock(fd):
    """True: this fd now holds the flock; False: another process holds it;
    None: the file system has no flock."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    except OSError:
        return None


def process_alive(pid):
    """Whether process `pid` runs on this host (False for 0 and below)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _same_file(path, fd):
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except OSError:
        return False


class RunLock:
    """A held lock; release() (idempotent) removes it. Use acquire()."""

    def __init__(self, path, fd):
        self.path = Path(path)
        self.fd = fd

    def release(self):
        if self.fd is None:
            return
        if _same_file(self.path, self.fd):  # never someone else's file
            with contextlib.suppress(OSError):
                os.unlink(self.path)
        os.close(self.fd)
        self.fd = None
        if _HELD.get(str(self.path)) is self:
            del _HELD[str(self.path)]

    def moved(self, folder):
        """The run folder holding the lock was moved to `folder` (--fresh)."""
        if _HELD.get(str(self.path)) is self:
            del _HELD[str(self.path)]
        self.path = (Path(folder) / LOCK_NAME).absolute()
        _HELD[str(self.path)] = self

    @property
    def held(self):
        return self.fd is not None


def describe(holder):
    """'process 123 on host h (since 2024-01-01 12:00:00)' from a lock's content."""
    if not holder:
        return "an unknown process (the lock file is empty or unreadable)"
    since = f" (since {holder['since']})" if holder.get("since") else ""
    return f"process {holder.get('pid')} on host {holder.get('host')!r}{since}"


def acquire(path, run_name, log=say):
    """Take the lock file `path` for run `run_name`, or raise RunInUseError."""
    path = Path(path).absolute()  # one key per file, whatever the working folder
    key = str(path)
    if key in _HELD:  # this process holds it already (a Run opened again)
        return _HELD[key]
    host = socket.gethostname()
    for _ in range(50):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
        except FileExistsError:
            _take_over_if_stale(path, run_name, host, log)
            continue
        _flock(fd)
        content = {"pid": os.getpid(), "host": host,
                   "since": time.strftime("%Y-%m-%d %H:%M:%S"),
                   "command": " ".join(sys.argv)}
        os.write(fd, (json.dumps(content) + "\n").encode())
        os.fsync(fd)
        lock = _HELD[key] = RunLock(path, fd)
        return lock
    raise RunInUseError(f"could not take the lock {path} of run {run_name!r}: other "
                        "trainers keep taking it")


def _take_over_if_stale(path, run_name, host, log):
    """Remove a stale lock file (with a warning); raise RunInUseError for a live one."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return  # released meanwhile: try again
    try:
        text = os.read(fd, 4096).decode(errors="replace")
        try:
            holder = json.loads(text)
            holder = holder if isinstance(holder, dict) else None
        except ValueError:
            holder = None
        free = _flock(fd)
        if free is False:
            raise _in_use(path, run_name, holder)
        if holder is None:
            if time.time() - os.fstat(fd).st_mtime < _YOUNG_S:
                time.sleep(0.1)  # another trainer is writing it now
                return
            if free is None:
                raise _in_use(path, run_name, holder)
            why = "an empty lock file nobody holds"
        elif holder.get("host") != host:
            raise _in_use(path, run_name, holder, other_host=True)
        elif not process_alive(_pid(holder)):
            why = f"{describe(holder)}, which no longer runs"
        elif free:  # the id is alive but reused: the trainer would hold the flock
            why = f"{describe(holder)}, which no longer holds it"
        else:
            raise _in_use(path, run_name, holder)
        if _same_file(path, fd):
            os.unlink(path)
            log(f"warning: run {run_name!r} was locked by {why}; taking the lock over")
    finally:
        os.close(fd)


def _pid(holder):
    """The process id a lock names (0, which no process has alone, if none)."""
    try:
        return max(int(holder.get("pid", 0)), 0)
    except (TypeError, ValueError):
        return 0


def _in_use(path, run_name, holder, other_host=False):
    pid = (holder or {}).get("pid", "PID")
    advice = ("if no trainer runs there any more, remove the file" if other_host else
              f"wait for it to end, or stop it (Ctrl-C there, or kill {pid}: it saves "
              "its last step first), or train another run")
    return RunInUseError(f"run {run_name!r} is being trained by {describe(holder)}, which "
                         f"holds {path}; {advice}")


@atexit.register
def _release_all():
    for lock in list(_HELD.values()):
        lock.release()
