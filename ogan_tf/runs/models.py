"""A run's models beside its folder (runs/folder.py: the files alone):
saving a checkpoint of the OGAN model, loading one back, and loading a run's
latest checkpoint with the weights a user asks for (``load_run``)."""

import keras
import numpy as np

from ..errors import CheckpointError, ConfigError, DivergedError, OganError, first_line
from ..model.batchnorm import unsynchronized_batchnorm
from ..model.finite import nonfinite_weights
from ..model.ogan import OGAN
from ..model.optimizer import RMSPROP_UPDATES
from .folder import RunDir
from .names import ema_weight_paths
from .weights import parse_weights


def save_checkpoint(run_dir, model, step, keep, ema=None):
    """Write `model`'s checkpoint for `step` into `run_dir` (a RunDir)
    atomically, keeping the newest `keep` (RunDir.write_checkpoint).

    ema: a WeightEMA whose averages are written beside the checkpoint,
    before it. Raises DivergedError, writing nothing, where a weight is not
    finite, and DiskFullError where the disk is full.
    """
    bad = nonfinite_weights(model)
    if bad:
        raise DivergedError(
            f"the weights at step {step} hold NaN or infinite values ({', '.join(bad[:3])}"
            f"{', ...' if len(bad) > 3 else ''}); checkpoint {step} was not written"
        )

    def ema_save(decay):
        def save(tmp):
            with ema.swapped_in(decay):
                model.save_weights(tmp)
        return save

    with unsynchronized_batchnorm([model.generator, model.encoder]):
        return run_dir.write_checkpoint(step, keep, lambda tmp: model.save(tmp),
                                        {d: ema_save(d) for d in (ema.decays if ema else ())})


def load_checkpoint(path, config):
    """Load an OGAN checkpoint and check it belongs to a run with `config`.

    Raises CheckpointError with a one-line message (what is wrong, no
    advice: the caller adds it) on a corrupt or foreign file; the file itself
    is never modified.
    """
    try:
        model = keras.models.load_model(path, safe_mode=True)
    except Exception as err:  # keras raises many types for a bad zip/config
        reason = first_line(err)
        raise CheckpointError(f"checkpoint {path} is unreadable ({reason})") from None
    if not isinstance(model, OGAN):
        raise CheckpointError(
            f"checkpoint {path} holds a {type(model).__name__}, not an ogan-tf OGAN model"
        )
    expected = {
        "z_dim": config.z_dim,
        "image shape": (config.resolution, config.resolution, 3),
        "optimizer": RMSPROP_UPDATES[config.rmsprop_update].__name__,
    }
    # the RMSprop itself (under mixed_float16 inside a LossScaleOptimizer)
    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    found = {
        "z_dim": model.z_dim,
        "image shape": tuple(model.encoder.input_shape[1:]),
        "optimizer": type(optimizer).__name__,
    }
    if found != expected or model.optimizer is None:
        raise CheckpointError(
            f"checkpoint {path} does not match the run's config.json "
            f"(found {found}, expected {expected})"
        )
    return model


def load_ema_weights(model, path):
    """Load an EMA weights file (see ema_weight_paths) into `model`."""
    try:
        model.load_weights(path)
    except Exception as err:
        reason = first_line(err)
        raise CheckpointError(f"EMA weights {path} are unreadable ({reason})") from None


def current_step(model):
    """The step a model has trained to (its optimizer's iteration count)."""
    return int(np.asarray(model.optimizer.iterations))


def load_run(runs_dir, name, weights="auto"):
    """(config, model, step) of run `name`'s latest checkpoint, G and E
    holding the weights `weights` names (see parse_weights)."""
    run_dir = RunDir(runs_dir, name)
    if not run_dir.exists():
        raise OganError(
            f"no run {name!r} in {runs_dir}/; train it first (make train RUN={name})"
        )
    config = run_dir.read_config()
    latest = run_dir.latest_checkpoint()
    if latest is None:
        raise OganError(f"run {name!r} has no checkpoint yet in {run_dir.checkpoints}")
    chosen = parse_weights(config, weights)
    try:
        model = load_checkpoint(latest, config)
        if chosen != "raw":
            saved = ema_weight_paths(latest)
            if chosen not in saved:
                have = ", ".join(["raw", *(f"{d:g}" for d in saved)])
                raise ConfigError(f"run {name!r} has no weights {weights!r}; it has: {have}")
            load_ema_weights(model, saved[chosen])
    except CheckpointError as err:
        raise CheckpointError(
            f"{err}; `ogan-tf train --run {name}` moves it aside and trains on from the "
            "checkpoint before, or start over with --fresh"
        ) from None
    return config, model, current_step(model)
