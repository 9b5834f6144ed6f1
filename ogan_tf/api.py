"""Use a trained model from Python: encode, decode, reconstruct, interpolate.

    from ogan_tf import api
    model = api.load("shapes")              # a run name, a run folder or an export folder
    codes = model.encode(["a.png", "b.jpg"])    # (2, z_dim) float32, N(E(x))
    images = model.decode(codes)                 # (2, res, res, 3) uint8
    pairs = model.reconstruct(uint8_images)      # G(s * N(E(x))), uint8
    strip = model.interpolate("a.png", "b.png", steps=10)

Images are uint8 RGB arrays, (n, H, W, 3) or one (H, W, 3), or image file
paths, or a list mixing them, of any size: each is centre-cropped to a square
and resized (bilinear, antialiased) to the model's resolution. A file that
cannot be read, or that is not RGB (grey, RGBA), is skipped and named in the
log; an array of another channel count or dtype is an error.
"""

import json
from pathlib import Path

import numpy as np

from . import grids, losses
from .errors import OganError

BATCH = 256


class ImageError(OganError):
    """Images that cannot be used (none readable, wrong channels or dtype)."""


# Images --------------------------------------------------------------------
def fit_to(image, resolution):
    """Centre-crop a uint8 (H, W, 3) image to a square, resize it to resolution."""
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    image = image[top:top + side, left:left + side]
    if side == resolution:
        return image
    import tensorflow as tf

    resized = tf.image.resize(image, (resolution, resolution), antialias=True)
    return np.clip(np.round(np.asarray(resized)), 0, 255).astype(np.uint8)


def read_image(path):
    """A file as a uint8 (H, W, 3) RGB array; ImageError saying why not."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            if img.mode == "P":  # palette: colours by index, RGB underneath
                img = img.convert("RGBA" if "transparency" in img.info else "RGB")
            if img.mode != "RGB":
                bands = len(img.getbands())
                raise ImageError(
                    f"{path} has {bands} channel{'s' * (bands != 1)} (mode {img.mode}), "
                    "not 3 (RGB)"
                )
            return np.asarray(img, np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ImageError(f"{path} is unreadable ({reason})") from None


def _check_array(array, what):
    if array.dtype != np.uint8:
        raise ImageError(f"{what} has dtype {array.dtype}; pass uint8 RGB images in [0, 255]")
    if array.ndim not in (3, 4) or array.shape[-1] != 3:
        raise ImageError(
            f"{what} has shape {array.shape}; pass RGB images, (n, H, W, 3) or (H, W, 3)"
        )
    return array[None] if array.ndim == 3 else array


def load_images(items, resolution, log=print):
    """(uint8 (n, res, res, 3), names) from arrays and/or paths (see the module doc).

    Unreadable and non-RGB files are skipped with a log line; ImageError if
    nothing is left, or for a bad array.
    """
    if isinstance(items, (str, Path, np.ndarray)):
        items = [items]
    images, names, skipped = [], [], []
    for i, item in enumerate(items):
        if isinstance(item, np.ndarray):
            for j, image in enumerate(_check_array(item, f"array {i}")):
                images.append(fit_to(image, resolution))
                names.append(f"array {i}[{j}]")
            continue
        try:
            images.append(fit_to(read_image(item), resolution))
            names.append(str(item))
        except ImageError as err:
            skipped.append(str(err))
            log(f"skipped {err}")
    if not images:
        raise ImageError(
            "no usable image" + (f" ({len(skipped)} skipped: {skipped[0]}"
                                 + (", ..." if len(skipped) > 1 else "") + ")" if skipped else "")
        )
    return np.stack(images), names


# The model -------------------------------------------------------------------
class OganModel:
    """A trained G and E with the operations a user wants.

    Args:
        encode_raw: function, uint8 (B, res, res, 3) -> E(x) (B, z_dim).
        generator: Keras model, z (B, z_dim) -> images in [-1, 1].
        recon_scale: s in reconstructions G(s * N(E(x))).
        info: where the model came from (run, step, weights).
    """

    def __init__(self, encode_raw, generator, recon_scale, info, log=print):
        self._encode_raw = encode_raw
        self.generator = generator
        self.recon_scale = float(recon_scale)
        self.info = info
        self.resolution = int(generator.output_shape[1])
        self.z_dim = int(generator.input_shape[-1])
        self.log = log

    def images(self, items):
        """uint8 images at the model's resolution (see load_images)."""
        return load_images(items, self.resolution, self.log)[0]

    def encode(self, items, raw=False):
        """N(E(x)) (or E(x) with raw=True), float32 (n, z_dim)."""
        x = self.images(items)
        codes = np.concatenate(
            [np.asarray(self._encode_raw(x[lo:lo + BATCH])) for lo in range(0, len(x), BATCH)]
        ).astype(np.float32)
        return codes if raw else np.asarray(losses.standardize(codes), np.float32)

    def decode(self, codes):
        """G(codes) as uint8 images (n, res, res, 3); codes: (n, z_dim) or (z_dim,)."""
        codes = np.asarray(codes, np.float32)
        if codes.ndim == 1:
            codes = codes[None]
        if codes.ndim != 2 or codes.shape[1] != self.z_dim:
            raise OganError(
                f"codes have shape {codes.shape}; this generator takes (n, {self.z_dim})"
            )
        if not np.all(np.isfinite(codes)):
            raise OganError("codes contain NaN or infinite values")
        out = [self.generator.predict_on_batch(codes[lo:lo + BATCH])
               for lo in range(0, len(codes), BATCH)]
        return grids.to_uint8(np.concatenate(out))

    def reconstruct(self, items, scale=None):
        """G(s * N(E(x))) as uint8; s defaults to the run's recon_scale."""
        scale = self.recon_scale if scale is None else scale
        return self.decode(scale * self.encode(items))

    def interpolate(self, a, b, steps=10, scale=None):
        """G(s * ((1 - t) N(E(a)) + t N(E(b)))) for `steps` t from 0 to 1, uint8."""
        if steps < 2:
            raise OganError(f"interpolate needs at least 2 steps, got {steps}")
        scale = self.recon_scale if scale is None else scale
        codes = self.encode([self.images(a)[0], self.images(b)[0]])
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
        return self.decode(scale * ((1 - t) * codes[0] + t * codes[1]))


def load(source, runs_dir="runs", weights="auto", log=print):
    """An OganModel from a run name (in runs_dir), a run folder, or an export
    folder (runs/<run>/export, see export.py). weights (runs only): "auto"
    (the first EMA where the run keeps EMAs, else raw), "raw" or a decay."""
    path = Path(source)
    if (path / "encoder_raw.keras").is_file() and (path / "generator.keras").is_file():
        return load_export(path, log)
    if (path / "config.json").is_file():
        runs_dir, name = path.parent, path.name
    elif len(path.parts) > 1:
        raise OganError(f"{source} is neither a run folder (with config.json) nor an export "
                        "folder (with encoder_raw.keras); pass a run name or one of those")
    else:
        name = str(source)
    from .training import load_run

    config, model, step = load_run(runs_dir, name, weights)
    from .export import weights_label

    info = {"run": name, "step": step, "weights": weights_label(config, weights)}
    encoder = model.encoder
    return OganModel(
        lambda x: encoder.predict_on_batch(grids.to_float(x)), model.generator,
        config.recon_scale, info, log,
    )


def load_export(path, log=print):
    """An OganModel from an export folder, with plain Keras loading."""
    import keras

    path = Path(path)
    try:
        info = json.loads((path / "info.json").read_text())
        encoder = keras.models.load_model(path / "encoder_raw.keras")
        generator = keras.models.load_model(path / "generator.keras")
    except (OSError, ValueError) as err:
        raise OganError(f"export {path} is unreadable ({str(err).splitlines()[0]}); "
                        "write it again with `ogan-tf export --run RUN`") from None
    return OganModel(encoder.predict_on_batch, generator, info.get("recon_scale", 0.9),
                     info, log)
