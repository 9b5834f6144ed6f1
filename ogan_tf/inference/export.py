"""Export a run's G and E as files any Keras user loads in one line.

``runs/<run>/export/`` holds
  encoder.keras        uint8 RGB images (B, res, res, 3) -> N(E(x)), float32
                       (B, z_dim): the codes G expects (reconstruction is
                       G(s * code), s = recon_scale in info.json)
  encoder_raw.keras    the same images -> E(x) itself (avg of it is the
                       critic's score; lower = more real)
  generator.keras      G: z (B, z_dim) float32 -> images in [-1, 1]
  encoder/ encoder_raw/ generator/   TensorFlow SavedModels of the same
                       (model.export), for TF Serving / tf.saved_model.load
  info.json            run, step, weights (EMA or raw), resolution, z_dim,
                       recon_scale and the input/output conventions
EMA weights are used where the run keeps them (runs.models.load_run's "auto").

The exported models are built from built-in layers only (no Lambda, no
custom objects): Rescaling turns uint8 into the training range [-1, 1], and
N() is LayerNormalization(center=False, scale=False) over the code, which
computes (v - mean v) / sqrt(var v + epsilon), i.e. losses.standardize up
to an epsilon of 1e-24 (tests/test_use.py checks they agree). So
``keras.models.load_model(path)`` loads them with safe_mode on and without
importing ogan_tf.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import keras
from keras import layers

from ..data.images import PIXEL_HALF
from ..messages import say
from ..runs.files import disk_full_error, file_size, fsync_dir, fsync_tree, is_disk_full
from ..runs.folder import RunDir
from ..runs.models import load_run
from ..runs.names import EXPORT_MODELS, export_temporary_names
from ..runs.weights import weights_label

# N()'s epsilon: var + 1e-24 under the square root is losses.standardize's
# floor of the std at 1e-12, and changes nothing for any non-constant code.
STANDARDIZE_EPSILON = 1e-24
FILES = ("encoder.keras", *EXPORT_MODELS, "info.json")


def uint8_encoders(encoder):
    """(codes model, raw model) wrapping E: uint8 images -> N(E(x)) and E(x)."""
    resolution = encoder.input_shape[1:]
    image = keras.Input(resolution, dtype="uint8", name="image")
    # x / 127.5 - 1, as data.images.to_float
    x = layers.Rescaling(1.0 / PIXEL_HALF, offset=-1.0, name="to_model_range")(image)
    raw = encoder(x)
    code = layers.LayerNormalization(
        axis=-1, epsilon=STANDARDIZE_EPSILON, center=False, scale=False, name="standardize"
    )(raw)
    codes_model = keras.Model(image, code, name="ogan_encoder")
    raw_model = keras.Model(image, raw, name="ogan_encoder_raw")
    return codes_model, raw_model


def export_models(generator, encoder, out_dir, info, saved_model=True):
    """Write the export folder `out_dir` (see the module doc) atomically: it is
    built beside the target and renamed into place, replacing an older one."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        building, replaced = export_temporary_names()  # a killed run's are cleared
        tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=building))
        codes_model, raw_model = uint8_encoders(encoder)
        models = {"encoder": codes_model, "encoder_raw": raw_model, "generator": generator}
        for name, model in models.items():
            model.save(tmp / f"{name}.keras")
            if saved_model:
                model.export(str(tmp / name), format="tf_saved_model", verbose=False)
        info = {
            **info,
            "resolution": int(encoder.input_shape[1]),
            "z_dim": int(generator.input_shape[-1]),
            "encoder": "uint8 RGB images (B, res, res, 3) -> N(E(x)) float32 (B, z_dim)",
            "encoder_raw": "uint8 RGB images (B, res, res, 3) -> E(x) float32 (B, z_dim)",
            "generator": "z float32 (B, z_dim) -> images float32 in [-1, 1] (B, res, res, 3); "
                         "reconstruction: generator(recon_scale * encoder(x))",
            "saved_models": sorted(models) if saved_model else [],
        }
        (tmp / "info.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
        fsync_tree(tmp)  # on disk before it takes the export's name
        old = None
        if out_dir.exists():
            old = out_dir.with_name(replaced)
            os.replace(out_dir, old)
        try:
            os.replace(tmp, out_dir)
        except BaseException:
            if old is not None:  # the old export goes back under its own name
                os.replace(old, out_dir)
            raise
        if old is not None:
            shutil.rmtree(old)
        fsync_dir(out_dir.parent)
    except BaseException as err:
        written = file_size(tmp) if tmp else 0
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, Exception) and is_disk_full(err):
            raise disk_full_error(
                out_dir, max(written, file_size(out_dir)),
                "free some space, then export again (`ogan-tf export`); "
                + ("the previous export is intact" if out_dir.exists() else "nothing was written")
            ) from None
        raise
    return out_dir


def export_run(runs_dir, name, weights="auto", saved_model=True, log=say):
    """Export run `name`'s latest checkpoint to runs/<name>/export/."""
    config, model, step = load_run(runs_dir, name, weights)
    run_dir = RunDir(runs_dir, name)
    info = {
        "run": name,
        "step": step,
        "weights": weights_label(config, weights),
        "recon_scale": config.recon_scale,
        "dataset": config.dataset,
        "crop_max": config.crop_max,  # how images of other sizes are cut (images.crop_box)
    }
    out = export_models(model.generator, model.encoder, run_dir.export, info,
                        saved_model=saved_model)
    log(f"exported {name!r} at step {step} ({info['weights']} weights) to {out}/: "
        + ", ".join(FILES[:3]) + (" and SavedModels" if saved_model else ""))
    return out
