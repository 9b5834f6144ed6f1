"""What the page asks of the model: the one loaded G and E, called on fixed
batch shapes, and the run's directions, principal axes and index folder.

Every request goes through `Explorer`; its methods take and return plain
values (bytes, lists, numpy arrays) and raise the OganError types with one
line for the page to show. The model is loaded once and called through
inference/model_calls.py like everywhere else, each model as a
`FixedBatch` of one shape, so Keras traces its predict function once per
model and no request retraces it.

An upload's pixel count is read from its header and checked before it is
decoded (a small file can decode to a huge image), and uploads decode one
at a time, so the memory a request can take stays near one image at the
limit.
"""

import io
import threading
import warnings

import numpy as np
from PIL import Image

from ...data import images as pixels
from ...errors import OganError, first_line
from ...inference import model_calls
from ...inference.codes import checked_codes
from ...inference.images import ImageError, read_image
from ...inference.model_calls import FixedBatch
from ...latent import files as latent_files
from ...latent import fit, similarity
from ...messages import say

ENCODE_BATCH = 2    # one image, or the two ends of an interpolation
DECODE_BATCH = 16   # a slider's image, a strip of mixes, a page of samples
MAX_STEPS = 16      # images of an interpolation strip
MAX_SAMPLES = 64
MAX_NEIGHBOURS = 32
PRINCIPAL_K = 8
SLIDER_SPAN = 3.0   # sliders move from -span to +span (amounts; stds for the axes)
# Upload pixel limit: 16 times the model's pixels, at least 16 million (a
# phone photo) and at most 40 million; --max-pixels may go up to Pillow's
# own decompression-bomb limit, above which Pillow warns or refuses.
PIXELS_PER_MODEL_PIXEL = 16
MIN_MAX_PIXELS = 16_000_000
DEFAULT_PIXEL_CEILING = 40_000_000


def pixel_limit(resolution, max_pixels=None):
    """The largest image (width x height) an upload may decode to; OganError
    for a --max-pixels that is not a positive number up to Pillow's limit."""
    if max_pixels is None:
        return min(max(PIXELS_PER_MODEL_PIXEL * resolution ** 2, MIN_MAX_PIXELS),
                   DEFAULT_PIXEL_CEILING)
    ceiling = Image.MAX_IMAGE_PIXELS or float("inf")
    if not 1 <= max_pixels <= ceiling:
        raise OganError(f"--max-pixels takes 1 to {ceiling} (Pillow's decompression-bomb "
                        f"limit), not {max_pixels}")
    return int(max_pixels)


def check_pixels(data, limit):
    """ImageError when the image in `data` is over `limit` pixels, read from
    its header without decoding it. Bytes Pillow cannot open pass: decoding
    them says why. Pillow's warning on a size past its own limit is not
    printed (the limit here is below Pillow's, so such an image is refused
    below). Call it under one lock: warnings filters are process-wide."""
    fmt = pixels.sniff_format(data)
    if fmt is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[fmt]) as image:
                width, height = image.size
        except Image.DecompressionBombError as err:
            raise ImageError(f"that image is too large to decode ({first_line(err)}); the page "
                             f"decodes images up to {limit:,} pixels (--max-pixels)") from None
        except Exception:  # Pillow raises OSError, SyntaxError, ValueError, ...
            return
    if width * height > limit:
        raise ImageError(f"that image is {width} x {height} = {width * height:,} pixels; the "
                         f"page decodes images up to {limit:,} pixels (--max-pixels)")


def saved_directions(model):
    """([(name, unit vector, info)], notes) of the direction files under
    <run>/directions (from `ogan-tf direction` and `principal`); a file that
    cannot be used here (another z_dim, unreadable) becomes a note."""
    found, notes = [], []
    folder = model.home / "directions" if model.home is not None else None
    if folder is None or not folder.is_dir():
        return found, notes
    for path in sorted(folder.rglob("*.npy")):
        name = path.relative_to(folder).with_suffix("").as_posix()
        try:
            vector, info = latent_files.load_direction(path, model.z_dim)
        except OganError as err:
            notes.append(f"direction {name} left out: {first_line(err)}")
            continue
        found.append((name, vector, info))
    return found, notes


class Explorer:
    """The page's model side: one OganModel (api.load), its index folder,
    its saved directions and its principal axes.

    Args:
        model: an api.OganModel.
        images: a folder for nearest neighbours (its codes cached in
            <run>/index_cache/, as `ogan-tf neighbours` does), or None.
        samples: generated images whose codes give the principal axes when
            there is no folder (0: no axes).
        max_pixels: the largest image an upload may decode to (None: from
            the model's resolution, see pixel_limit).
    """

    def __init__(self, model, images=None, samples=1000, log=say, max_pixels=None):
        self.model, self.log = model, log
        self.max_pixels = pixel_limit(model.resolution, max_pixels)
        self.decoding = threading.Lock()  # one upload decoded at a time
        lock = threading.Lock()
        self.encoder = FixedBatch(model.encoder, ENCODE_BATCH, lock)
        self.generator = FixedBatch(model.generator, DECODE_BATCH, lock)
        self.index = model.index(images) if images is not None else None
        self.directions, self.notes = saved_directions(model)
        self.axes = self._principal(samples)

    def _principal(self, samples):
        """Principal axes of the index folder's codes, else of `samples`
        generated images' (api principal; batched once at start, not a request)."""
        if self.index is not None and len(self.index) > 2:
            k = min(PRINCIPAL_K, len(self.index) - 1, self.model.z_dim)
            mean, axes, std, explained = fit.principal_axes(self.index.codes, k)
            found = {"axes": axes, "std": std, "explained": explained,
                     "source": f"the {len(self.index)} images of --images"}
        elif samples > 2:
            k = min(PRINCIPAL_K, self.model.z_dim, samples - 1)
            found = self.model.principal(k=k, samples=samples)
            found["source"] = f"{samples} generated images"
        else:
            return None
        self.log(f"principal axes of the codes of {found['source']}")
        return found

    # Model calls ----------------------------------------------------------------------
    def encode_uint8(self, images):
        """N(E(x)) of uint8 (n, res, res, 3) images, float32 (n, z_dim)."""
        return model_calls.encode(self.encoder, images)

    def decode(self, codes):
        """G(codes) as uint8 (n, res, res, 3)."""
        return model_calls.decode(self.generator, codes)

    # What the page asks -----------------------------------------------------------------
    def describe(self):
        """The run, the sizes, and the sliders: saved directions and principal axes."""
        m = self.model
        sliders = [{"name": name, "kind": "direction", "vector": vector.tolist(), "unit": 1.0,
                    "about": _about(info)} for name, vector, info in self.directions]
        if self.axes is not None:
            for i, (axis, std, share) in enumerate(zip(self.axes["axes"], self.axes["std"],
                                                       self.axes["explained"])):
                sliders.append({"name": f"pc{i + 1}", "kind": "principal axis",
                                "vector": axis.tolist(), "unit": float(m.recon_scale * std),
                                "about": f"{100 * share:.1f}% of the variance of the codes "
                                         f"of {self.axes['source']}; the slider is in stds"})
        return {"run": m.info.get("run"), "step": m.info.get("step"),
                "weights": m.info.get("weights"), "resolution": m.resolution,
                "z_dim": m.z_dim, "recon_scale": m.recon_scale, "span": SLIDER_SPAN,
                "max_pixels": self.max_pixels,
                "sliders": sliders, "notes": self.notes,
                "index": None if self.index is None else {"folder": self.index.folder,
                                                          "images": len(self.index)}}

    def upload(self, data):
        """An image file's bytes -> (image, reconstruction, code), read as the
        CLI reads a file (data/images.py) once its header says it is at most
        max_pixels; ImageError saying why not."""
        with self.decoding:
            check_pixels(data, self.max_pixels)
            try:
                image = pixels.load(data, self.model.resolution, self.model.crop_max)[0]
            except pixels.BadImage as err:
                raise ImageError(f"that file is unusable: {first_line(err)}") from None
        code = self.encode_uint8(image[None])[0]
        return image, self.decode(self.model.recon_scale * code[None])[0], code

    def code(self, value, what="code"):
        """A (z_dim,) float32 from a request, or OganError."""
        return checked_codes(value, self.model.z_dim, f"the {what}", one=True)

    def edit(self, code, moves):
        """G(s code + sum of amount * vector over the moves): uint8 (res, res, 3)."""
        z = self.model.recon_scale * self.code(code)
        for i, move in enumerate(moves):
            vector = self.code(move.get("vector"), f"direction of slider {i + 1}")
            try:
                amount = float(move.get("amount", 0.0))
            except (TypeError, ValueError):
                amount = float("nan")
            if not np.isfinite(amount):
                raise OganError(f"the amount of slider {i + 1} is not a finite number")
            z = z + amount * vector
        return self.decode(z[None])[0]

    def interpolate(self, a, b, steps=8):
        """G(s ((1 - t) a + t b)) for `steps` t from 0 to 1, uint8 (steps, res, res, 3)."""
        if not 2 <= steps <= MAX_STEPS:
            raise OganError(f"an interpolation has 2 to {MAX_STEPS} steps, not {steps}")
        a, b = self.code(a, "first code"), self.code(b, "second code")
        return model_calls.interpolate(self.generator, a, b, steps, self.model.recon_scale)

    def samples(self, n=16, seed=0):
        """n random samples G(z), z from the seed: uint8 (n, res, res, 3)."""
        if not 1 <= n <= MAX_SAMPLES:
            raise OganError(f"ask for 1 to {MAX_SAMPLES} samples, not {n}")
        z = np.random.default_rng(seed).standard_normal((n, self.model.z_dim))
        return self.decode(z.astype(np.float32))

    def neighbours(self, code, k=8):
        """[(name, similarity, uint8 image)] of the k index images nearest the code."""
        if self.index is None:
            raise OganError("no folder to search: start the page with --images DIR")
        k = max(1, min(int(k), MAX_NEIGHBOURS, len(self.index)))
        rows, sims = similarity.nearest(self.code(code)[None], self.index.codes, k)
        found = []
        for row, sim in zip(rows[0], sims[0]):
            name = self.index.names[row]
            try:
                image = read_image(name, self.model.resolution, self.model.crop_max)
            except ImageError:  # changed on disk since it was indexed
                image = None
            found.append((name, float(sim), image))
        return found

    def direction(self, data, name="uploaded"):
        """A direction file's bytes (.npy) -> a slider, or DirectionError (another
        z_dim, not one vector, zero)."""
        vector = latent_files.read_direction_bytes(data, name, self.model.z_dim)
        return {"name": name, "kind": "direction", "vector": vector.tolist(), "unit": 1.0,
                "about": "uploaded"}


def _about(info):
    """A direction's sidecar in a few words."""
    parts = [f"found on run {info['run']!r} step {info.get('step')}"] if info.get("run") else []
    for key in ("heldout_accuracy", "heldout_r2"):
        if key in info:
            parts.append(f"{key.replace('_', ' ')} {info[key]:.3f}")
    return "; ".join(parts) or "no sidecar"
