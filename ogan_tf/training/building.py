"""A run's model: built for its config (G, E, the OGAN with its loss,
augmentation and step kind, the author's optimizer) or loaded from a
checkpoint to train on, with the speed settings a checkpoint does not hold;
and its weight EMAs."""

import contextlib

import keras

from ..errors import CheckpointError, ConfigError
from ..model.batchnorm import set_synchronized_batchnorm
from ..model.ema import WeightEMA
from ..model.networks import build_encoder, build_generator
from ..model.ogan import OGAN
from ..model.optimizer import make_optimizer
from ..model.step import FUSED_BACKENDS
from ..runs.models import load_checkpoint, load_ema_weights
from ..runs.names import ema_path, ema_weight_paths
from . import hardware


def build_model(config):
    """A new, compiled OGAN for `config` (the author's RMSprop)."""
    args = (config.resolution, config.z_dim, config.variant, config.channels)
    with dtype_policy(config.precision):  # G and E keep it, also in saved files
        generator = build_generator(*args)
        encoder = build_encoder(*args, norm=config.encoder_norm)
    model = OGAN(
        generator,
        encoder,
        rho_weight=config.rho_weight,
        qp_weight=config.qp_weight,
        seed=config.seed,
        gan_loss=config.gan_loss,
        encoder_term=config.encoder_term,
        augment=config.augment,
        augment_p=config.augment_p,
        fused_step=fused_step_on(config),
    )
    model.compile(
        optimizer=make_optimizer(config.learning_rate, config.rmsprop_rho, config.precision,
                                 config.rmsprop_update)
    )
    # Slots exist from step 0, so any checkpoint restores the full optimizer.
    model.optimizer.build(model.trainable_variables)
    return set_speed_options(model, config)


@contextlib.contextmanager
def dtype_policy(name):
    """Layers built inside use the Keras dtype policy `name`."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def load_for_run(path, config):
    """The checkpoint at `path` (runs.models.load_checkpoint) as run `config`
    trains on from it: with the config's augmentation (Config.augment and
    augment_p may change when a run resumes) and speed settings.
    CheckpointError where an EMA file of the config's decays is not beside
    it: every worker checks, so all pick the same checkpoint."""
    model = load_checkpoint(path, config)
    missing = [d for d in config.ema_decays if d not in ema_weight_paths(path)]
    if missing:
        raise CheckpointError(
            f"checkpoint {path} has no EMA weights for decay {missing[0]:g} "
            f"(expected {ema_path(path, missing[0]).name} beside it)"
        )
    model.set_augmentation(config.augment, config.augment_p)
    return set_speed_options(model, config)


def set_speed_options(model, config):
    """Apply the speed settings, which change only how fast a step runs: the
    step kind (fused or plain), XLA and synchronized BatchNorm. A checkpoint
    does not hold them and a resumed run may change them; compile() sets
    XLA anew."""
    model.fused_step = fused_step_on(config)
    jit_compile = hardware.xla_on(config)
    if jit_compile != "auto":  # "auto": as compile() resolved it
        model.jit_compile = bool(jit_compile)
    set_synchronized_batchnorm([model.generator, model.encoder], config.sync_batchnorm)
    return model


def fused_step_on(config):
    """Whether the train step is the fused one: fused_step on, or auto with
    a backend that has it (TensorFlow, JAX). ConfigError where it is on and
    the backend has none."""
    check_backend_options(config)
    if config.fused_step == "auto":
        return keras.backend.backend() in FUSED_BACKENDS
    return bool(config.fused_step)


def check_backend_options(config):
    """ConfigError where a setting needs another Keras backend."""
    if config.fused_step is True and keras.backend.backend() not in FUSED_BACKENDS:
        raise ConfigError(
            f"fused_step needs the TensorFlow or JAX backend (KERAS_BACKEND is "
            f"{keras.backend.backend()!r}); drop --fused-step"
        )


def make_ema(config, model):
    """The run's weight EMAs (None where config.ema_decays is empty)."""
    if not config.ema_decays:
        return None
    return WeightEMA.of_model(model, config.ema_decays, config.ema_rampup)


def restore_ema(ema, model, ckpt_path):
    """Fill `ema`'s averages from the files saved beside `ckpt_path` (one per
    decay: load_for_run checked they are there)."""
    saved = ema_weight_paths(ckpt_path)
    raw = [v.numpy() for v in ema.variables]
    try:
        for decay in ema.decays:
            load_ema_weights(model, saved[decay])
            ema.set_values(decay, [v.numpy() for v in ema.variables])
    finally:
        for variable, value in zip(ema.variables, raw):
            variable.assign(value)
