"""Evaluation figures for a trained G and E: FID, KID, SWD, reconstruction, codes.

Kept apart from training (as StyleGAN's metric registry): every function
takes images or models and returns numbers; ``evaluate`` gathers them all.
Images are uint8 ``(n, H, W, 3)`` unless a name says otherwise.

- FID and KID (evaluation/fid.py): of samples and reconstructions against the
  data set's cached reference statistics, with a named feature network
  (evaluation/features.py: the standard 2015-12-05 Inception graph, or Keras'
  InceptionV3 as a fallback that is not comparable with papers).
- SWD (Karras et al. 2018, "Progressive growing of GANs", section 5 and
  appendix D), written from the paper's description: a Laplacian pyramid of
  each image from full resolution down to 16 px; from each level, 128 random
  7x7 neighbourhoods per image (7*7*3 = 147-dim descriptors); each colour
  channel of each set's descriptors normalised to mean 0, std 1; then the
  sliced Wasserstein distance over 512 random unit directions (the mean
  absolute difference of the sorted projections). Reported x 10^3 as in the
  paper, per level and averaged over levels. Needs no weights.
- Reconstruction: pixel MSE (images in [-1, 1]) and SSIM (images in [0, 1])
  of G(s * N(E(x))) against x, and against another image of the set (the next one)
  (the figure an encoder that carries no information would get).
"""

import time

import numpy as np

from ..data.images import to_float
from ..data.sources import open_source
from ..errors import OganError
from ..inference.model_calls import decode, encode, reconstruct
from ..model import losses
from .fid import fid_figures

# SWD ---------------------------------------------------------------------
_BINOMIAL = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0  # the pyramid's 5-tap filter


def _blur(images, gain=1.0):
    from scipy.ndimage import convolve1d

    out = convolve1d(images, _BINOMIAL * gain, axis=1, mode="mirror")
    return convolve1d(out, _BINOMIAL * gain, axis=2, mode="mirror")


def pyramid_down(images):
    """Blur, keep every second pixel: (n, H, W, C) -> (n, H/2, W/2, C)."""
    return _blur(images)[:, ::2, ::2]


def pyramid_up(images):
    """Insert zeros, blur with gain 2 per axis: (n, H, W, C) -> (n, 2H, 2W, C)."""
    n, h, w, c = images.shape
    up = np.zeros((n, 2 * h, 2 * w, c), images.dtype)
    up[:, ::2, ::2] = images
    return _blur(up, gain=2.0)


def laplacian_pyramid(images, min_resolution=16):
    """Float (n, H, W, C) -> levels, finest first: band-pass images at H,
    H/2, ... and last the low-pass image at min_resolution. The image is
    level[-1] brought up with pyramid_up, plus each band-pass in turn."""
    levels, current = [], np.asarray(images, np.float32)
    while current.shape[1] > min_resolution:
        down = pyramid_down(current)
        levels.append(current - pyramid_up(down))
        current = down
    levels.append(current)
    return levels


def _descriptors(level, per_image, size, rng):
    """per_image random size x size neighbourhoods of each image -> (n*per_image, size, size, C),
    each colour channel normalised to mean 0, std 1 over the set."""
    n, h, w, _ = level.shape
    windows = np.lib.stride_tricks.sliding_window_view(level, (size, size), axis=(1, 2))
    idx = np.repeat(np.arange(n), per_image)
    ys = rng.integers(0, h - size + 1, n * per_image)
    xs = rng.integers(0, w - size + 1, n * per_image)
    d = windows[idx, ys, xs].astype(np.float64)  # (N, C, size, size)
    d -= d.mean(axis=(0, 2, 3), keepdims=True)
    d /= np.maximum(d.std(axis=(0, 2, 3), keepdims=True), 1e-8)
    return d.reshape(len(d), -1).astype(np.float32)


def sliced_wasserstein(a, b, directions, rng, chunk=128):
    """Mean over random unit directions of the 1-D Wasserstein-1 distance of
    the projected sets (equal sizes: the mean |sorted a - sorted b|)."""
    total = 0.0
    for lo in range(0, directions, chunk):
        count = min(chunk, directions - lo)
        dirs = rng.standard_normal((a.shape[1], count)).astype(np.float32)
        dirs /= np.linalg.norm(dirs, axis=0, keepdims=True)
        # (directions, N) rows: sorting along the contiguous axis is ~5x faster
        pa, pb = np.sort((dirs.T @ a.T), axis=1), np.sort((dirs.T @ b.T), axis=1)
        total += float(np.abs(pa - pb).mean(axis=1).sum())
    return total / directions


def swd(images_a, images_b, seed=0, per_image=128, size=7, directions=512, min_resolution=16):
    """The multi-scale SWD of two uint8 image sets of one size -> dict of
    x 10^3 figures: "swd_<res>" per pyramid level and "swd" their mean.
    Sets of different sizes are cut to the smaller."""
    n = min(len(images_a), len(images_b))
    if n < 2:
        raise OganError("SWD needs at least 2 images in each set")
    if images_a.shape[1:] != images_b.shape[1:]:
        raise OganError(f"SWD compares images of one size, got {images_a.shape[1:]} "
                        f"and {images_b.shape[1:]}")
    rng = np.random.default_rng(seed)
    pyramids = [laplacian_pyramid(to_float(x[:n]), min_resolution)
                for x in (images_a, images_b)]
    out = {}
    for level_a, level_b in zip(*pyramids):
        da = _descriptors(level_a, per_image, size, rng)
        db = _descriptors(level_b, per_image, size, rng)
        out[f"swd_{level_a.shape[1]}"] = 1e3 * sliced_wasserstein(da, db, directions, rng)
    out["swd"] = float(np.mean(list(out.values())))
    return out


def ssim(images_a, images_b):
    """Mean SSIM (tf.image.ssim, 11x11 Gaussian window) of uint8 image pairs."""
    import tensorflow as tf

    a = tf.image.convert_image_dtype(images_a, tf.float32)
    b = tf.image.convert_image_dtype(images_b, tf.float32)
    return float(tf.reduce_mean(tf.image.ssim(a, b, max_val=1.0)))


def pixel_mse(images_a, images_b):
    """Mean squared pixel difference on the models' [-1, 1] scale."""
    return float(np.mean((to_float(images_a) - to_float(images_b)) ** 2))


def reconstruction_figures(generator, encoder, images, scale):
    """MSE and SSIM of G(scale * N(E(x))) against x and against another image."""
    recon = reconstruct(generator, encoder, images, scale)
    other = np.roll(images, 1, axis=0)  # held-out images are independent draws
    return recon, {
        "recon_mse": pixel_mse(recon, images),
        "recon_mse_other": pixel_mse(recon, other),
        "recon_ssim": ssim(recon, images),
        "recon_ssim_other": ssim(recon, other),
    }


def code_figures(generator, encoder, images, z):
    """z_corr on fresh z, and how N(E(x)) of real images compares with z ~ N(0, I)."""
    fake = decode(generator, z)
    raw_fake = encode(encoder, fake, raw=True)
    raw_real = encode(encoder, images, raw=True)
    codes = np.asarray(losses.standardize(raw_real))
    dim_mean, dim_std = codes.mean(axis=0), codes.std(axis=0)
    return fake, {
        "z_corr_fresh": float(np.mean(losses.correlation(z, raw_fake))),
        "code_dim_mean_abs": float(np.abs(dim_mean).mean()),
        "code_dim_std_mean": float(dim_std.mean()),
        "code_dim_std_min": float(dim_std.min()),
        "code_dim_std_max": float(dim_std.max()),
        "critic_real": float(np.mean(np.asarray(losses.avg(raw_real)))),
        "critic_fake": float(np.mean(np.asarray(losses.avg(raw_fake)))),
    }


def evaluate(generator, encoder, config, n=1000, fid=None, seed=0, log=None):
    """Every figure for a G and E trained with `config`, on n held-out images.

    fid: a fid.FidPlan (the feature network and the counts): also FID and
    KID of samples and reconstructions against the data set's reference
    statistics; None: neither. n is cut to the held-out images a data set
    on disk has (Source.heldout_count). Returns a flat dict of numbers (and
    the FID network's name and file).
    """
    began = time.perf_counter()
    source = open_source(config)
    available = source.heldout_count
    if available is not None and n > available:
        if log:
            log(f"the data set holds back {available} images: evaluating on those")
        n = available
    real = source.heldout(n)
    z = np.random.default_rng([seed, 7]).standard_normal((n, config.z_dim)).astype(np.float32)
    fake, figures = code_figures(generator, encoder, real, z)
    recon, recon_figures = reconstruction_figures(generator, encoder, real, config.recon_scale)
    figures.update(recon_figures)
    for name, images in (("samples", fake), ("recon", recon)):
        for key, value in swd(real, images, seed=seed).items():
            figures[key.replace("swd", f"swd_{name}", 1)] = value
    if fid is not None:
        figures.update(fid_figures(generator, config, fid, recon, seed, log))
    figures["eval_images"] = n
    figures["eval_seconds"] = round(time.perf_counter() - began, 2)
    return figures
