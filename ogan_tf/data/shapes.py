"""The offline default data set: one generated shape on a plain background.

Generated deterministically in-process (nothing downloaded, nothing
committed), with five independent factors a viewer can judge by eye in
samples, reconstructions and interpolations:
  shape       circle, square, triangle, cross
  colour      any hue, saturated and bright
  position    centre x and y in [0.34, 0.66] of the image
  size        half-extent in [0.18, 0.31] of the image
  background  any hue, desaturated and dark (value 0.15 - 0.45)
"""

import numpy as np

SHAPES = ("circle", "square", "triangle", "cross")
_CHUNK = 2048  # images rendered at once; bounds memory to ~100 MB at 64 px


def _hsv_to_rgb(h, s, v):
    """Vectorised HSV -> RGB, all in [0, 1]; (N,) each -> (N, 3)."""
    i = np.floor(h * 6.0).astype(int) % 6
    f = h * 6.0 - np.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    table = np.stack(
        [
            np.stack([v, t, p], -1),
            np.stack([q, v, p], -1),
            np.stack([p, v, t], -1),
            np.stack([p, q, v], -1),
            np.stack([t, p, v], -1),
            np.stack([v, p, q], -1),
        ],
        1,
    )
    return table[np.arange(len(h)), i]


def shape_factors(n, seed):
    """Draw the factors of n images; a dict of (n,) arrays, reproducible."""
    rng = np.random.default_rng(seed)
    return {
        "shape": rng.integers(0, len(SHAPES), n),
        "hue": rng.uniform(0, 1, n),
        "x": rng.uniform(0.34, 0.66, n),
        "y": rng.uniform(0.34, 0.66, n),
        "size": rng.uniform(0.18, 0.31, n),
        "bg_hue": rng.uniform(0, 1, n),
        "bg_value": rng.uniform(0.15, 0.45, n),
    }


def _signed_distance(shape, dx, dy, size):
    """Signed distance (image units, < 0 inside) of each pixel to the shape."""
    s = size[:, None, None]
    circle = np.hypot(dx, dy) - s
    square = np.maximum(np.abs(dx), np.abs(dy)) - 0.85 * s
    # Equilateral triangle, apex up (y grows downwards): three half-planes.
    angles = np.deg2rad([90.0, 210.0, 330.0])
    planes = [np.cos(a) * dx + np.sin(a) * dy for a in angles]
    triangle = np.max(planes, axis=0) - 0.55 * s
    arm = 0.35 * s
    cross = np.minimum(
        np.maximum(np.abs(dx) - s, np.abs(dy) - arm),
        np.maximum(np.abs(dx) - arm, np.abs(dy) - s),
    )
    return np.choose(shape[:, None, None], [circle, square, triangle, cross])


def render_shapes(factors, resolution):
    """Render factors (as from shape_factors) to (n, res, res, 3) uint8."""
    n = len(factors["shape"])
    centres = (np.arange(resolution) + 0.5) / resolution
    gy, gx = np.meshgrid(centres, centres, indexing="ij")
    out = np.empty((n, resolution, resolution, 3), np.uint8)
    fg = _hsv_to_rgb(factors["hue"], np.full(n, 0.85), np.full(n, 0.95))
    bg = _hsv_to_rgb(factors["bg_hue"], np.full(n, 0.5), factors["bg_value"])
    for lo in range(0, n, _CHUNK):
        sl = slice(lo, min(lo + _CHUNK, n))
        dx = gx[None] - factors["x"][sl, None, None]
        dy = gy[None] - factors["y"][sl, None, None]
        dist = _signed_distance(factors["shape"][sl], dx, dy, factors["size"][sl])
        # Pixel coverage from the distance: a one-pixel anti-aliasing ramp.
        alpha = np.clip(0.5 - dist * resolution, 0.0, 1.0)[..., None]
        rgb = bg[sl, None, None] * (1 - alpha) + fg[sl, None, None] * alpha
        out[sl] = np.round(rgb * 255).astype(np.uint8)
    return out


def make_shapes(n, resolution, seed):
    """n shapes images (uint8, (n, res, res, 3)) and their factors."""
    factors = shape_factors(n, seed)
    return render_shapes(factors, resolution), factors
