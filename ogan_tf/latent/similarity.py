"""Cosine similarity of codes, exactly, in blocks: nearest neighbours and
near-duplicate pairs. Memory is bounded by the block sizes, not by the
number of codes; time is one matrix product over all pairs (a million
codes against a thousand queries is a few seconds of BLAS)."""

import numpy as np

BLOCK = 4096  # rows of each side of a block of similarities


class Index:
    """Codes of a set of images and their names (file paths), row for row."""

    def __init__(self, codes, names, folder=None):
        self.codes = np.asarray(codes, np.float32)
        self.names = list(names)
        self.folder = folder
        if len(self.codes) != len(self.names):
            raise ValueError(f"{len(self.codes)} codes for {len(self.names)} names")

    def __len__(self):
        return len(self.names)


def unit_rows(codes):
    """Rows scaled to unit length (a zero row stays zero), float32."""
    codes = np.asarray(codes, np.float32)
    norms = np.linalg.norm(codes, axis=1, keepdims=True)
    return codes / np.maximum(norms, 1e-12)


def nearest(queries, index, k, block=BLOCK, exclude=None):
    """The k most cosine-similar index rows of each query.

    Args:
        queries: (q, z_dim) codes; index: (n, z_dim) codes.
        exclude: optional (q,) index row per query to leave out (-1: none),
            e.g. the query itself when it is in the index.
    Returns:
        (rows (q, k') int64, similarities (q, k') float32), most similar
        first, k' = min(k, n).
    """
    queries, index = unit_rows(queries), unit_rows(index)
    k = min(int(k), len(index) - (exclude is not None))
    best_sim = np.full((len(queries), 0), -np.inf, np.float32)
    best_row = np.zeros((len(queries), 0), np.int64)
    for lo in range(0, len(index), block):
        sims = queries @ index[lo:lo + block].T
        rows = np.broadcast_to(np.arange(lo, lo + sims.shape[1]), sims.shape)
        if exclude is not None:
            sims = np.where(rows == np.asarray(exclude)[:, None], -np.inf, sims)
        sims = np.concatenate([best_sim, sims], axis=1)
        rows = np.concatenate([best_row, rows], axis=1)
        if sims.shape[1] > k:
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            sims = np.take_along_axis(sims, top, 1)
            rows = np.take_along_axis(rows, top, 1)
        best_sim, best_row = sims, rows
    order = np.argsort(-best_sim, axis=1, kind="stable")
    return np.take_along_axis(best_row, order, 1), np.take_along_axis(best_sim, order, 1)


def duplicate_pairs(codes, threshold, block=BLOCK):
    """Pairs (i, j, similarity), i < j, whose cosine similarity is at least
    threshold, most similar first."""
    codes = unit_rows(codes)
    found = []
    for lo in range(0, len(codes), block):
        rows = codes[lo:lo + block]
        for lo2 in range(lo, len(codes), block):
            sims = rows @ codes[lo2:lo2 + block].T
            i, j = np.nonzero(sims >= threshold)
            i, j = i + lo, j + lo2
            keep = i < j
            found.extend(zip(i[keep].tolist(), j[keep].tolist(),
                             sims[i[keep] - lo, j[keep] - lo2].tolist()))
    return sorted(found, key=lambda t: (-t[2], t[0], t[1]))
