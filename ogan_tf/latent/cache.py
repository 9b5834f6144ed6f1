"""The cache of an index folder's codes: <run>/index_cache/<folder>-<hash>.npz,
reused while the folder's files and the model are unchanged (index.py's
folder_index)."""

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from ..errors import OganError, first_line
from ..runs.files import atomic_write


def folder_key(files, **context):
    """A hash of the files' paths, sizes and modification times and of
    context (the model's run, step, weights, resolution): the cache of an
    index folder's codes is reused while it is unchanged."""
    listing = []
    for name in files:
        try:
            st = os.stat(name)
            listing.append([str(name), st.st_size, st.st_mtime_ns])
        except OSError:
            listing.append([str(name), -1, -1])
    text = json.dumps({"files": listing, **context}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def cache_path(home, folder):
    """Where the codes of an index folder are cached: <run>/index_cache/,
    one file per folder (named by the folder and a hash of its full path)."""
    folder = Path(folder).resolve()
    tag = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    return Path(home) / "index_cache" / f"{folder.name or 'root'}-{tag}.npz"


def read_cache(path, key):
    """(codes, names) cached at path under key, or None (missing, stale or unreadable)."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            if str(saved["key"]) != key:
                return None
            return saved["codes"], [str(n) for n in saved["names"]]
    except (OSError, ValueError, KeyError):
        return None


def write_cache(path, key, codes, names):
    """Cache (codes, names) at path under key. A cache is a saving, not a
    result: where it cannot be written (a full disk, a read-only run folder)
    nothing is left half-written and the reason comes back as one line
    (else None), for the caller to warn and go on with the codes."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: np.savez(tmp, key=np.array(key), codes=codes,
                                                names=np.array(names, dtype=str)))
    except (OSError, OganError) as err:
        return first_line(err)
    return None
