"""The codes of a folder's images as an Index, and what is found in it:
each query's nearest images (a query in the folder left out of its own
list) and the near-identical pairs. The codes come from an encode_files
function (inference/model_calls.py) and are kept in <run>/index_cache/
(cache.py) while the folder's files and the model are unchanged."""

from pathlib import Path

import numpy as np

from ..errors import OganError
from ..messages import say
from . import cache, files, similarity


def folder_index(folder, encode_files, home=None, context=None, log=say):
    """A similarity.Index of the codes of the images under `folder` (names:
    full paths). encode_files: paths -> (codes, indices of the paths read).
    With home (a run or export folder), the codes are cached in
    <home>/index_cache/ and reused while the folder's file list, sizes and
    modification times and `context` (the model's run, step, weights,
    resolution, crop_max) are unchanged; None keeps nothing."""
    paths = files.list_images(folder)
    key = path = None
    if home is not None:
        key = cache.folder_key(paths, **(context or {}))
        path = cache.cache_path(home, folder)
        cached = cache.read_cache(path, key)
        if cached is not None:
            log(f"codes of {len(cached[1])} image(s) of {folder} from the cache {path}")
            return similarity.Index(*cached, folder=str(folder))
    codes, kept = encode_files(paths)
    names = [paths[i] for i in kept]
    if path is not None:  # the codes first: a cache that cannot be written loses nothing
        failed = cache.write_cache(path, key, codes, names)
        log(f"encoded {len(names)} image(s) of {folder}; "
            + (f"cached in {path}" if failed is None else
               f"warning: not cached ({failed}); the codes are used all the same"))
    return similarity.Index(codes, names, folder=str(folder))


def neighbours(index, codes, names, k):
    """(rows (q, k) int64, similarities (q, k)) of the k (>= 1) index images
    most cosine-similar to each query code; a query whose name (a file path)
    is in the index is left out of its own list. OganError when the index
    holds nothing besides the queries."""
    where = {str(Path(n).resolve()): i for i, n in enumerate(index.names)}
    exclude = np.array([where.get(str(Path(n).resolve()), -1) for n in names])
    if len(index.names) - (exclude >= 0).any() < 1:
        raise OganError("the index holds no image besides the queries")
    return similarity.nearest(codes, index.codes, k,
                              exclude=exclude if (exclude >= 0).any() else None)


def duplicates(index, threshold):
    """Pairs (name_a, name_b, similarity) of the index whose codes' cosine
    similarity is at least threshold, most similar first."""
    return [(index.names[i], index.names[j], s)
            for i, j, s in similarity.duplicate_pairs(index.codes, threshold)]
