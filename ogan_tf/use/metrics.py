"""Evaluation figures for a trained G and E: FID, SWD, reconstruction, codes.

Kept apart from training (as StyleGAN's metric registry): every function
takes images or models and returns numbers; ``evaluate`` gathers them all.
Images are uint8 ``(n, H, W, 3)`` unless a name says otherwise.

- FID (Heusel et al. 2017): Frechet distance of InceptionV3 pool features
  (keras.applications, include_top=False, pooling="avg", 299 px). The
  ImageNet weights are read from Keras' cache and never downloaded here: a
  missing file is a one-line error naming it, its URL and the folder
  (``inception_weights_path``).
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

import os
import time
from pathlib import Path

import numpy as np

from ..core import losses
from ..data.images import to_float, unit_range
from ..data.sources import open_source
from ..errors import OganError
from .inference import decode, encode

INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
# Where Keras itself fetches it; we never download (runs stay offline and reproducible).
INCEPTION_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
    + INCEPTION_WEIGHTS_FILE
)
INCEPTION_SIZE = 299
BATCH = 250  # images per model call in evaluation


class MissingWeightsError(OganError):
    """The InceptionV3 weights file for FID is not in Keras' cache."""


# FID ---------------------------------------------------------------------
def keras_models_dir():
    """Keras' download cache for model weights: $KERAS_HOME/models or ~/.keras/models."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def inception_weights_path():
    """The ImageNet weights file of InceptionV3 (no top), or a one-line error
    saying which file to place where (this machine cannot download it)."""
    path = keras_models_dir() / INCEPTION_WEIGHTS_FILE
    if not path.is_file():
        raise MissingWeightsError(
            f"FID needs the InceptionV3 weights {INCEPTION_WEIGHTS_FILE} in {path.parent}/ "
            f"(from {INCEPTION_WEIGHTS_URL}); place it there, or pass --no-fid"
        )
    return path


def inception_model(weights="imagenet"):
    """InceptionV3 pool features, (B, 299, 299, 3) in [-1, 1] -> (B, 2048).

    weights: "imagenet" (the cached file, never downloaded here), None
    (random: for tests), or a path to a weights file.
    """
    import keras

    if weights == "imagenet":
        weights = str(inception_weights_path())
    return keras.applications.InceptionV3(
        include_top=False, pooling="avg", weights=weights,
        input_shape=(INCEPTION_SIZE, INCEPTION_SIZE, 3),
    )


def inception_features(images, model, batch_size=50):
    """Pool features of uint8 images, resized (bilinear) to 299 px and scaled
    to [-1, 1] as keras.applications.inception_v3.preprocess_input does."""
    import tensorflow as tf

    out = []
    for lo in range(0, len(images), batch_size):
        x = tf.image.resize(
            tf.cast(images[lo:lo + batch_size], tf.float32), (INCEPTION_SIZE, INCEPTION_SIZE)
        )
        out.append(np.asarray(model.predict_on_batch(unit_range(x)), np.float64))
    return np.concatenate(out)


def frechet_distance(features_a, features_b):
    """||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of two feature sets.

    tr((S_a S_b)^(1/2)) is computed as the sum of square roots of the
    eigenvalues of S_a^(1/2) S_b S_a^(1/2), a symmetric PSD matrix with the
    same eigenvalues: stable also for the singular covariances of fewer
    samples than features.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    vals, vecs = np.linalg.eigh(cov_a)
    sqrt_a = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    cross = np.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a)
    trace_sqrt = np.sqrt(np.clip(cross, 0, None)).sum()
    fid = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt
    return float(max(fid, 0.0))


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
    recon = decode(generator, scale * encode(encoder, images))
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


def evaluate(generator, encoder, config, n=1000, fid=False, feature_model=None, seed=0,
             log=None):
    """Every figure for a G and E trained with `config`, on n held-out images.

    fid: also FID of samples and reconstructions against the held-out
    images (InceptionV3 with the cached ImageNet weights unless
    feature_model is given). n is cut to the held-out images a data set on
    disk has (Source.heldout_count). Returns a flat dict of floats.
    """
    began = time.perf_counter()
    source = open_source(config)
    available = source.heldout_count
    if available is not None and n > available:
        if log:
            log(f"the data set holds back {available} images: evaluating on those")
        n = available
    if fid and feature_model is None:
        feature_model = inception_model()  # fails before any work when the file is missing
    real = source.heldout(n)
    z = np.random.default_rng([seed, 7]).standard_normal((n, config.z_dim)).astype(np.float32)
    fake, figures = code_figures(generator, encoder, real, z)
    recon, recon_figures = reconstruction_figures(generator, encoder, real, config.recon_scale)
    figures.update(recon_figures)
    for name, images in (("samples", fake), ("recon", recon)):
        for key, value in swd(real, images, seed=seed).items():
            figures[key.replace("swd", f"swd_{name}", 1)] = value
    if fid:
        if log:
            log(f"FID: InceptionV3 features of {3 * n} images")
        real_features = inception_features(real, feature_model)
        for name, images in (("samples", fake), ("recon", recon)):
            figures[f"fid_{name}"] = frechet_distance(
                real_features, inception_features(images, feature_model)
            )
    figures["eval_images"] = n
    figures["eval_seconds"] = round(time.perf_counter() - began, 2)
    return figures
