"""Use a trained model from Python: encode, decode, reconstruct, interpolate.

    from ogan_tf import api
    model = api.load("shapes")              # a run name, a run folder or an export folder
    codes = model.encode(["a.png", "b.jpg"])    # (2, z_dim) float32, N(E(x))
    images = model.decode(codes)                 # (2, res, res, 3) uint8
    pairs = model.reconstruct(uint8_images)      # G(s * N(E(x))), uint8
    strip = model.interpolate("a.png", "b.png", steps=10)

    # The codes put to use (latent/, docs/latent.md)
    smiling = model.direction("smiling/", "not_smiling/")     # a Direction; .save("smiling.npy")
    rows = model.edit(["a.png"], smiling, [-2, 0, 2])       # (1, 3, res, res, 3) uint8
    index = model.index("photos/")                         # codes of a folder, cached by the run
    rows, sims = model.neighbours(["a.png"], index, k=8)   # nearest by cosine similarity

Images are uint8 RGB arrays ((n, H, W, 3) or (H, W, 3)), image file paths, or a list mixing
them, of any size, prepared as in training (inference/images.py); an unreadable file is skipped and
named in the log (the ogan_tf logger).

This module is the public API: OganModel's methods take what a user has
and hand it on to inference/ (the model calls, images, codes) and latent/
(directions, principal axes, the folder index and its cache)."""

import json
from pathlib import Path

import keras
import numpy as np

from .errors import OganError, first_line
from .inference import model_calls as inference
from .inference.codes import checked_codes
from .inference.images import ImageError, load_images, read_image  # noqa: F401  (api.load_images, ...)
from .latent import directions, fit, similarity
from .latent import files as latent_files
from .latent import index as latent_index
from .messages import say
from .runs.models import load_run
from .runs.resolve import is_run_folder, resolve
from .runs.weights import weights_label


class OganModel:
    """A trained G and E with the operations a user wants.

    Args:
        encoder: Keras model E, images in [-1, 1] (B, res, res, 3) -> E(x) (B, z_dim).
        generator: Keras model G, z (B, z_dim) -> images in [-1, 1].
        recon_scale: s in reconstructions G(s * N(E(x))).
        info: where the model came from (run, step, weights).
        crop_max: the run's Config.crop_max, for images of other sizes.
        home: the run folder (or export folder) where directions and the
            index caches are kept; None keeps nothing.
    """

    def __init__(self, encoder, generator, recon_scale, info, log=say, crop_max=0,
                 home=None):
        self.encoder = encoder
        self.generator = generator
        self.recon_scale = float(recon_scale)
        self.info = info
        self.resolution = int(generator.output_shape[1])
        self.z_dim = int(generator.input_shape[-1])
        self.log = log
        self.crop_max = crop_max
        self.home = Path(home) if home is not None else None

    def images(self, items):
        """uint8 images at the model's resolution (see load_images)."""
        return load_images(items, self.resolution, self.log, self.crop_max)[0]

    def encode(self, items, raw=False):
        """N(E(x)) (or E(x) with raw=True), float32 (n, z_dim)."""
        return inference.encode(self.encoder, self.images(items), raw=raw)

    def decode(self, codes):
        """G(codes) as uint8 images (n, res, res, 3); codes: (n, z_dim) or (z_dim,)."""
        return inference.decode(self.generator, checked_codes(codes, self.z_dim))

    def reconstruct(self, items, scale=None):
        """G(s * N(E(x))) as uint8; s defaults to the run's recon_scale."""
        scale = self.recon_scale if scale is None else scale
        return inference.reconstruct(self.generator, self.encoder, self.images(items), scale)

    def interpolate(self, a, b, steps=10, scale=None):
        """G(s * ((1 - t) N(E(a)) + t N(E(b)))) for `steps` t from 0 to 1, uint8."""
        if steps < 2:
            raise OganError(f"interpolate needs at least 2 steps, got {steps}")
        scale = self.recon_scale if scale is None else scale
        codes = self.encode([self.images(a)[0], self.images(b)[0]])
        return inference.interpolate(self.generator, codes[0], codes[1], steps, scale)

    # Many files ----------------------------------------------------------------
    def encode_files(self, paths, chunk=256, workers=8):
        """(codes float32 (m, z_dim), kept) of image files, read on `workers`
        threads and encoded `chunk` at a time (memory stays bounded for a large
        folder); kept: the indices of the paths that were read. A file that
        cannot be read is skipped and named in the log (the first 20, then a
        count); ImageError when none can be read."""
        return inference.encode_files(self.encoder, paths, self.resolution, self.crop_max,
                                      self.log, chunk, workers)

    def _codes_of(self, items, what):
        """(codes, names) of a folder, a list of files or uint8 arrays."""
        if isinstance(items, (str, Path)) and Path(items).is_dir():
            items = latent_files.list_images(items)
        if isinstance(items, np.ndarray) or (
                isinstance(items, (list, tuple)) and items
                and any(isinstance(i, np.ndarray) for i in items)):
            images, names = load_images(items, self.resolution, self.log, self.crop_max)
            return inference.encode(self.encoder, images), names
        paths = [items] if isinstance(items, (str, Path)) else list(items)
        if not paths:
            raise ImageError(f"no images given for {what}")
        try:
            codes, kept = self.encode_files(paths)
        except ImageError as err:
            raise ImageError(f"{what}: {err}") from None
        return codes, [str(paths[i]) for i in kept]

    def _codes_with_values(self, images, values):
        """(codes, values) of images (files or uint8) with one value each; a
        file that cannot be read is skipped with its value."""
        values = np.asarray(values, np.float64)
        if isinstance(images, np.ndarray):
            return self.encode(images), values
        images = [str(p) for p in images]
        if len(images) != len(values):
            raise fit.DirectionError(f"{len(images)} images but {len(values)} values")
        codes, kept = self.encode_files(images)
        return codes, values[kept]

    # Directions, edits, principal axes (latent/) -----------------------------------
    def about(self):
        """run, step, weights and z_dim: what a direction or cache records."""
        return {k: self.info.get(k) for k in ("run", "step", "weights")} | {"z_dim": self.z_dim}

    def direction(self, positive=None, negative=None, *, images=None, values=None,
                  classes=None, attribute=None, heldout=fit.HELDOUT, seed=0):
        """The direction of an attribute in code space, found from examples.

        Either positive and negative examples (each a folder, a list of
        image files or uint8 images): the normal of a logistic regression on
        their codes; or images with values (one number per image): two
        values {0, 1} / {-1, 1} are classes, other values a continuous
        attribute (least squares). A file that cannot be read is skipped with
        its value. Returns a latent Direction (vector, info with the held-out
        score of the read-out; .save(path)).
        """
        directions.check_examples(positive, negative, images, values)
        if images is not None:
            codes, values = self._codes_with_values(images, values)
            vector, stats = fit.find_direction(codes, values, classes, heldout, seed)
            source = {"images": len(values)}
        else:
            vector, stats = directions.from_classes(
                self._codes_of(positive, "the positive examples"),
                self._codes_of(negative, "the negative examples"), heldout, seed)
            source = {}
        info = {"kind": "direction", "attribute": attribute, **self.about(), **source, **stats}
        return latent_files.Direction(vector, info)

    def direction_vector(self, direction, row=None):
        """A unit (z_dim,) vector from a Direction, a direction file or an
        array; a direction found on another run or step is used with a note.
        row: which row of a file of (k, z_dim) directions (GANSpace)."""
        return directions.unit_vector(direction, self.z_dim, self.info, self.log, row)

    def edit(self, images, direction, amounts, scale=None, orthogonal_to=(), row=None):
        """G(s N(E(x)) + a d) for each image x and amount a: uint8
        (n, len(amounts), res, res, 3). direction d: a Direction, a direction
        file (row: which of its rows, for a (k, z_dim) file) or a (z_dim,)
        vector (made unit length); orthogonal_to: other directions whose
        components are removed from d first (conditional editing: the
        others' read-outs stay as they are)."""
        d = self.direction_vector(direction, row)
        if orthogonal_to:
            d = fit.orthogonalize(d, [self.direction_vector(o) for o in orthogonal_to])
        amounts = np.atleast_1d(np.asarray(amounts, np.float32))
        scale = self.recon_scale if scale is None else scale
        codes = fit.edit_codes(self.encode(images), d, amounts, scale)
        return self._decode_rows(codes)

    def _decode_rows(self, codes):
        """G of codes (n, m, z_dim) as uint8 (n, m, res, res, 3)."""
        out = self.decode(codes.reshape(-1, self.z_dim))
        return out.reshape(codes.shape[:2] + out.shape[1:])

    def principal(self, images=None, k=8, samples=2000, seed=0):
        """Principal axes (PCA) of the codes of images (a folder, files or
        uint8 images), or without images of the codes N(E(G(z))) of `samples`
        generated images (z itself is isotropic: every axis of it has std 1).
        Returns a dict: mean, axes (k, z_dim), std (k,), explained (k,),
        source, count."""
        if images is None:
            z = np.random.default_rng(seed).standard_normal((samples, self.z_dim))
            codes = inference.encode(self.encoder, self.decode(z.astype(np.float32)))
            source = f"{samples} generated images G(z)"
        else:
            codes, _ = self._codes_of(images, "--images")
            source = str(images) if isinstance(images, (str, Path)) else f"{len(codes)} images"
        mean, axes, std, explained = fit.principal_axes(codes, k)
        return {"mean": mean, "axes": axes, "std": std, "explained": explained,
                "source": source, "count": len(codes)}

    def walk(self, axes, steps=7, span=3.0, start=None, scale=None):
        """Decoded walks along principal axes (a dict from principal()): row
        i is G(s (c + t std_i axis_i)) for t from -span to +span, c the mean
        code or the code of image `start`. uint8 (k, steps, res, res, 3)."""
        scale = self.recon_scale if scale is None else scale
        centre = axes["mean"] if start is None else self.encode(start)[0]
        return self._decode_rows(scale * fit.walk(centre, axes["axes"], axes["std"], steps, span))

    # Neighbours ----------------------------------------------------------------------
    def index(self, folder, cache=True):
        """The codes of a folder's images as a similarity.Index (codes, names:
        full paths). With cache, they are kept in <run>/index_cache/ and reused
        while the folder's file list, sizes and modification times and this
        model's run, step and weights are unchanged."""
        context = self.about() | {"resolution": self.resolution, "crop_max": self.crop_max}
        return latent_index.folder_index(folder, self.encode_files,
                                         self.home if cache else None, context, self.log)

    def _index(self, index):
        return index if isinstance(index, similarity.Index) else self.index(index)

    def neighbours(self, queries, index, k=8, query_names=None):
        """(rows (q, k) int64, similarities (q, k)) of the k index images
        most cosine-similar to each query (images or files; a query file that
        is in the index, by path or by query_names, is left out of its own
        list). index: an Index or a folder. Names: index.names[rows]."""
        if k < 1:
            raise OganError(f"k must be at least 1, got {k}")
        index = self._index(index)
        images, names = load_images(queries, self.resolution, self.log, self.crop_max)
        names = names if query_names is None else list(query_names)
        return latent_index.neighbours(index, inference.encode(self.encoder, images), names, k)

    def duplicates(self, index, threshold=0.99):
        """Pairs (name_a, name_b, similarity) of an index (or folder) whose
        codes' cosine similarity is at least threshold, most similar first."""
        return latent_index.duplicates(self._index(index), threshold)


def load(source, runs_dir="runs", weights="auto", log=say):
    """An OganModel from a run name (in runs_dir), a run folder, or an export
    folder (runs/<run>/export, see export.py): runs.resolve.resolve. weights
    (runs only): "auto" (the first EMA where the run keeps EMAs, else raw),
    "raw" or a decay."""
    found = resolve(source, runs_dir)
    if found.export is not None:
        model = load_export(found.export, log)
        held = model.info.get("weights")
        wanted = weights_label(None, weights) if weights != "auto" else held
        if wanted != held:
            raise OganError(f"export {found.export} holds the {held!r} weights, not "
                            f"{wanted!r}; load the run itself to pick other weights")
        return model
    runs_dir, name = found.run()
    config, model, step = load_run(runs_dir, name, weights)
    info = {"run": name, "step": step, "weights": weights_label(config, weights)}
    return OganModel(model.encoder, model.generator, config.recon_scale, info, log,
                     crop_max=config.crop_max, home=found.run_path)


def load_export(path, log=say):
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
    home = path.parent if is_run_folder(path.parent) else path
    return OganModel(encoder, generator, info.get("recon_scale", 0.9),
                     info, log, crop_max=info.get("crop_max", 0), home=home)
