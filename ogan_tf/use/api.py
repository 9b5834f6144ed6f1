"""Use a trained model from Python: encode, decode, reconstruct, interpolate.

    from ogan_tf import api
    model = api.load("shapes")              # a run name, a run folder or an export folder
    codes = model.encode(["a.png", "b.jpg"])    # (2, z_dim) float32, N(E(x))
    images = model.decode(codes)                 # (2, res, res, 3) uint8
    pairs = model.reconstruct(uint8_images)      # G(s * N(E(x))), uint8
    strip = model.interpolate("a.png", "b.png", steps=10)

Images are uint8 RGB arrays, (n, H, W, 3) or one (H, W, 3), or image file
paths, or a list mixing them, of any size: each is prepared as the training
pipeline does (data/images.py: files decoded by Pillow and converted to RGB, the
square centre crop of the run's crop_max, antialiased bilinear resize). A
file that cannot be read is skipped and named in the log; an array of
another channel count or dtype is an error.
"""

import json
from pathlib import Path

import keras
import numpy as np

from ..data import images as pixels
from ..errors import OganError, first_line
from ..runs import load_run, weights_label
from . import inference


class ImageError(OganError):
    """Images that cannot be used (none readable, wrong channels or dtype)."""


# Images --------------------------------------------------------------------
def fit_to(image, resolution, crop_max=0):
    """A uint8 (H, W, 3) array -> (res, res, 3): the training pipeline's square
    centre crop and antialiased bilinear resize (data.images.load_array)."""
    if image.shape[:2] == (resolution, resolution):
        return image
    return pixels.load_array(image, resolution, crop_max)[0]


def read_image(path, resolution, crop_max=0):
    """A file as the training pipeline reads it (data.images.load: any Pillow
    mode converted to RGB as the author's imread(mode="RGB"), centre crop,
    resize); ImageError saying why not."""
    try:
        data = Path(path).read_bytes()
        return pixels.load(data, resolution, crop_max)[0]
    except (OSError, pixels.BadImage) as err:
        raise ImageError(f"{path} is unreadable ({first_line(err)})") from None


def _check_array(array, what):
    if array.dtype != np.uint8:
        raise ImageError(f"{what} has dtype {array.dtype}; pass uint8 RGB images in [0, 255]")
    if array.ndim not in (3, 4) or array.shape[-1] != 3:
        raise ImageError(
            f"{what} has shape {array.shape}; pass RGB images, (n, H, W, 3) or (H, W, 3)"
        )
    return array[None] if array.ndim == 3 else array


def load_images(items, resolution, log=print, crop_max=0):
    """(uint8 (n, res, res, 3), names) from arrays and/or paths (see the module doc).

    Unreadable files are skipped with a log line; ImageError if nothing is
    left, or for a bad array. crop_max: as Config.crop_max (0 = min(h, w)).
    """
    if isinstance(items, (str, Path, np.ndarray)):
        items = [items]
    images, names, skipped = [], [], []
    for i, item in enumerate(items):
        if isinstance(item, np.ndarray):
            for j, image in enumerate(_check_array(item, f"array {i}")):
                images.append(fit_to(image, resolution, crop_max))
                names.append(f"array {i}[{j}]")
            continue
        try:
            images.append(read_image(item, resolution, crop_max))
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
        encoder: Keras model E, images in [-1, 1] (B, res, res, 3) -> E(x) (B, z_dim).
        generator: Keras model G, z (B, z_dim) -> images in [-1, 1].
        recon_scale: s in reconstructions G(s * N(E(x))).
        info: where the model came from (run, step, weights).
        crop_max: the run's Config.crop_max, for images of other sizes.
    """

    def __init__(self, encoder, generator, recon_scale, info, log=print, crop_max=0):
        self.encoder = encoder
        self.generator = generator
        self.recon_scale = float(recon_scale)
        self.info = info
        self.resolution = int(generator.output_shape[1])
        self.z_dim = int(generator.input_shape[-1])
        self.log = log
        self.crop_max = crop_max

    def images(self, items):
        """uint8 images at the model's resolution (see load_images)."""
        return load_images(items, self.resolution, self.log, self.crop_max)[0]

    def encode(self, items, raw=False):
        """N(E(x)) (or E(x) with raw=True), float32 (n, z_dim)."""
        return inference.encode(self.encoder, self.images(items), raw=raw)

    def decode(self, codes):
        """G(codes) as uint8 images (n, res, res, 3); codes: (n, z_dim) or (z_dim,)."""
        codes = np.asarray(codes, np.float32)
        if codes.ndim == 1:
            codes = codes[None]
        if codes.ndim != 2 or codes.shape[1] != self.z_dim or len(codes) == 0:
            raise OganError(
                f"codes have shape {codes.shape}; this generator takes (n, {self.z_dim})"
            )
        if not np.all(np.isfinite(codes)):
            raise OganError("codes contain NaN or infinite values")
        return inference.decode(self.generator, codes)

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
        model = load_export(path, log)
        held = model.info.get("weights")
        wanted = weights_label(None, weights) if weights != "auto" else held
        if wanted != held:
            raise OganError(f"export {path} holds the {held!r} weights, not {wanted!r}; "
                            "load the run itself to pick other weights")
        return model
    if (path / "config.json").is_file():
        runs_dir, name = path.parent, path.name
    elif len(path.parts) > 1:
        raise OganError(f"{source} is neither a run folder (with config.json) nor an export "
                        "folder (with encoder_raw.keras); pass a run name or one of those")
    else:
        name = str(source)
    config, model, step = load_run(runs_dir, name, weights)
    info = {"run": name, "step": step, "weights": weights_label(config, weights)}
    return OganModel(model.encoder, model.generator, config.recon_scale, info, log,
                     crop_max=config.crop_max)


def load_export(path, log=print):
    """An OganModel from an export folder, with plain Keras loading. The
    export's encoder_raw.keras wraps E (named "encoder") behind a uint8
    rescaling; the model uses E itself, as for a run."""
    path = Path(path)
    try:
        info = json.loads((path / "info.json").read_text())
        encoder = keras.models.load_model(path / "encoder_raw.keras").get_layer("encoder")
        generator = keras.models.load_model(path / "generator.keras")
    except (OSError, ValueError) as err:
        raise OganError(f"export {path} is unreadable ({first_line(err)}); "
                        "write it again with `ogan-tf export --run RUN`") from None
    return OganModel(encoder, generator, info.get("recon_scale", 0.9),
                     info, log, crop_max=info.get("crop_max", 0))
