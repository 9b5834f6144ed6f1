"""Codes as G takes them: a user's codes checked, and the linear mixes of
an interpolation. Plain numpy; the model calls are in model_calls.py."""

import numpy as np

from ..errors import OganError


def checked_codes(value, z_dim, what="codes", one=False):
    """`value` as float32 codes for a generator of `z_dim`: (n, z_dim) with
    n >= 1 (one (z_dim,) code becomes one row), or with one=True a single
    (z_dim,) code. OganError naming `what` ("codes", "the code", ...) for
    anything else: no numbers, another shape, no codes, NaN or infinities."""
    is_, has, holds = ("is", "has", "holds") if one else ("are", "have", "hold")
    try:
        codes = np.asarray(value, np.float32)
    except (TypeError, ValueError):
        raise OganError(f"{what} {is_} not {'a list' if one else 'lists'} of numbers") from None
    if one:
        ok, wanted = codes.shape == (z_dim,), f"({z_dim},)"
    else:
        codes = np.atleast_2d(codes)
        ok, wanted = codes.ndim == 2 and codes.shape[1] == z_dim and len(codes) > 0, \
            f"(n, {z_dim})"
    if not ok:
        raise OganError(f"{what} {has} shape {codes.shape}; this model's codes are {wanted}")
    if not np.all(np.isfinite(codes)):
        raise OganError(f"{what} {holds} NaN or infinite values")
    return codes


def mixes(a, b, steps):
    """(1 - t) a + t b for `steps` t evenly from 0 to 1, both ends included:
    codes a and b of shape (..., z_dim) -> (..., steps, z_dim), float32."""
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    return (1 - t) * a[..., None, :] + t * b[..., None, :]
