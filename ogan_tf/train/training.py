"""Wires one training run: config -> data -> OGAN.fit -> callbacks -> files.

``start_run`` decides between a new run and resuming the latest checkpoint;
``train`` runs Keras' fit for the remaining steps with the callbacks that
write grids, checkpoints and metrics.
"""

import contextlib
import math
import time
from pathlib import Path


import keras

from ..config import DEFAULT_PRESET, FIXED_FOR_RUN, load_preset
from ..core.ema import WeightEMA
from ..core.model import OGAN, make_optimizer, set_synchronized_batchnorm
from ..core.networks import build_encoder, build_generator
from ..data.pipeline import DataStats, training_dataset
from ..data.sources import open_source
from ..errors import CheckpointError, ConfigError, DataError, OganError
from ..runs import (
    RunDir, check_resumable, current_step, ema_path, ema_weight_paths, load_checkpoint,
    load_ema_weights,
)
from ..use.export import export_run
from ..use.grids import sample_grids
from . import distribute
from .callbacks import EveryNSteps, LogChanges, MetricsLogger, StopAtStep, UpdateEMA
from .monitors import training_monitors


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


def set_speed_options(model, config):
    """Apply the settings that may change on resume and are not saved in the
    model: fused_step, XLA and synchronized BatchNorm."""
    check_backend_options(config)
    model.fused_step = fused_step_on(config)
    if config.jit_compile != "auto":  # "auto": as compile() resolved it
        model.jit_compile = bool(config.jit_compile)
    set_synchronized_batchnorm([model.generator, model.encoder], config.sync_batchnorm)
    return model


def fused_step_on(config):
    """Whether the train step is the fused one: fused_step on, or auto with
    the TensorFlow backend (the only one that has it)."""
    if config.fused_step == "auto":
        return keras.backend.backend() == "tensorflow"
    return bool(config.fused_step)


def check_backend_options(config):
    """ConfigError where a setting needs another Keras backend."""
    if config.fused_step is True and keras.backend.backend() != "tensorflow":
        raise ConfigError(
            f"fused_step needs the TensorFlow backend (KERAS_BACKEND is "
            f"{keras.backend.backend()!r}); drop --fused-step"
        )


def make_ema(config, model):
    """The run's weight EMAs (None where config.ema_decays is empty)."""
    return WeightEMA.of_model(model, config.ema_decays) if config.ema_decays else None


def restore_ema(ema, model, ckpt_path):
    """Fill `ema`'s averages from the files saved beside `ckpt_path`."""
    saved = ema_weight_paths(ckpt_path)
    raw = [v.numpy() for v in ema.variables]
    try:
        for decay in ema.decays:
            if decay not in saved:
                raise CheckpointError(
                    f"checkpoint {ckpt_path} has no EMA weights for decay {decay:g} "
                    f"(expected {ema_path(ckpt_path, decay).name} beside it); "
                    "restore that file, or start over with --fresh"
                )
            load_ema_weights(model, saved[decay])
            ema.set_values(decay, [v.numpy() for v in ema.variables])
    finally:
        for variable, value in zip(ema.variables, raw):
            variable.assign(value)


def ema_or_raw(ema):
    """Context in which the model holds the weights grids are drawn with:
    the first EMA where the run keeps them (as the author), else the raw."""
    return ema.swapped_in(ema.decays[0]) if ema else contextlib.nullcontext()


class Run:
    """A run ready to train: its directory, config, model, start step, weight
    EMAs (None where the config keeps none, and on workers other than the
    chief) and placement (distribute.Placement: strategy, replicas, chief)."""

    def __init__(self, run_dir, config, model, start_step, resumed_from=None, ema=None,
                 placement=None):
        self.dir = run_dir
        self.config = config
        self.model = model
        self.start_step = start_step
        self.resumed_from = resumed_from
        self.ema = ema
        self.placement = placement or distribute.Placement()


def start_run(runs_dir, samples_dir, name, preset, overrides, fresh=False, log=print):
    """Open run `name`: resume its latest checkpoint, or start from `preset`.

    preset: an experiments/ name; None means the run's own when resuming and
    DEFAULT_PRESET for a new run.
    overrides: settings given on the command line (None = not given). On
    resume, settings fixed for the run's life must match (else an error says
    what to do); the others (steps, intervals, ...) take the new values.
    """
    run_dir = RunDir(runs_dir, name)
    latest = None if fresh else run_dir.latest_checkpoint()
    if latest is None:
        config = load_preset(preset or DEFAULT_PRESET, **overrides)
        open_source(config)  # all checks before any file is touched
        check_backend_options(config)
        placement = distribute.place(config)
        # The run's seed also fixes the initial weights (same on every worker).
        keras.utils.set_random_seed(config.seed)
        if not placement.is_chief:  # only the chief touches the run's files
            with placement.scope():
                model = build_model(config)
            return Run(run_dir, config, model, 0, placement=placement)
        if fresh and run_dir.exists():
            moved = [run_dir.archive()]
            samples = Path(samples_dir) / name
            if samples.exists():
                moved.append(samples.rename(samples.with_name(moved[0].name)))
            log("--fresh: moved the old run aside to " + ", ".join(map(str, moved)))
        elif run_dir.exists():
            log(f"{run_dir.path} has no checkpoint yet: starting it from step 0")
            run_dir.truncate_metrics(0)
        run_dir.write_config(config)
        with placement.scope():
            model = build_model(config)
        return Run(run_dir, config, model, 0, ema=make_ema(config, model), placement=placement)

    saved = run_dir.read_config()
    check_resumable(saved, {"preset": preset, **overrides})
    config = saved.replace(
        **{k: v for k, v in overrides.items() if v is not None and k not in FIXED_FOR_RUN}
    )
    placement = distribute.place(config)
    with placement.scope():
        model = set_speed_options(load_checkpoint(latest, config), config)
    step = current_step(model)
    if not placement.is_chief:
        return Run(run_dir, config, model, step, resumed_from=latest, placement=placement)
    ema = make_ema(config, model)
    if ema:
        restore_ema(ema, model, latest)
    run_dir.truncate_metrics(step)
    run_dir.write_config(config)
    log(f"resuming run {name!r} from step {step} ({latest}); "
        "pass --fresh (make train FRESH=1) to start over")
    return Run(run_dir, config, model, step, resumed_from=latest, ema=ema, placement=placement)


def fit_steps(model, dataset, start, stop, steps_per_epoch, callbacks, verbose="auto"):
    """One Keras fit from global step `start` to `stop`.

    Epochs are `steps_per_epoch` long and numbered from step 0, so a resumed
    run continues the epoch count; StopAtStep ends the fit at exactly `stop`
    (mid-epoch if `stop` is not a multiple of steps_per_epoch).
    """
    model.fit(
        dataset,
        initial_epoch=start // steps_per_epoch,
        epochs=math.ceil(stop / steps_per_epoch),
        steps_per_epoch=steps_per_epoch,
        callbacks=[*callbacks, StopAtStep(start, stop)],
        shuffle=False,
        verbose=verbose,
    )


def train(run, samples_dir, log=print, verbose="auto"):
    """Train `run` up to run.config.steps; returns the last metrics row (on
    workers other than the chief, which write nothing: None)."""
    config, model, placement = run.config, run.model, run.placement
    if run.start_step >= config.steps:
        log(f"run {run.dir.name!r} is already at step {run.start_step} >= steps "
            f"{config.steps}; pass a larger --steps (STEPS=) to train on")
        return None
    stats = DataStats(log)  # images skipped / upscaled, in metrics.jsonl
    source = open_source(config)
    dataset = placement.dataset(
        lambda index, count, batch: training_dataset(source, config, stats, log,
                                                     (index, count), batch)
    )
    start, stop = run.start_step, config.steps
    chief = placement.is_chief
    callbacks = _chief_callbacks(run, samples_dir, stats, log) if chief else []
    log(f"training {run.dir.name!r}: {config.variant} at {config.resolution} px, "
        f"widest layer {config.channels or config.resolution * 8}, z_dim {config.z_dim}, "
        f"batch {config.batch_size}, steps {start} -> {stop} "
        f"(G {model.generator.count_params():,} / E {model.encoder.count_params():,} params)"
        f"; {placement.describe()}")
    began = time.perf_counter()
    try:
        fit_steps(model, dataset, start, stop, config.log_every, callbacks,
                  verbose if chief else 0)
    except Exception:
        if stats.fatal:  # the input pipeline gave up: say why in one line
            raise DataError(stats.fatal) from None
        raise
    seconds = time.perf_counter() - began
    if current_step(model) != stop:
        raise OganError(f"training stopped at step {current_step(model)} of {stop}")
    if not chief:
        log(f"worker {placement.worker}: done, {stop - start} steps in {seconds:.0f} s; "
            "the chief wrote the run's files")
        return None
    rows = run.dir.read_metrics()
    last = rows[-1] if rows else {}
    log(f"done: {stop - start} steps in {seconds:.0f} s "
        f"({(stop - start) / seconds:.2f} steps/s incl. grids and checkpoints); "
        f"z_corr {last.get('z_corr', float('nan')):.3f}; "
        f"grids in {Path(samples_dir) / run.dir.name}, checkpoints in {run.dir.checkpoints}")
    if config.export_at_end != "none":
        export_run(run.dir.path.parent, run.dir.name,
                   saved_model=config.export_at_end == "all", log=log)
    return last


def _chief_callbacks(run, samples_dir, stats, log):
    """The callbacks that write the run's files (the chief's alone): EMA
    update, metrics, grids, checkpoints, evaluation, TensorBoard."""
    config, ema = run.config, run.ema
    start, stop = run.start_step, config.steps
    grid_writer = sample_grids(config, samples_dir, run.dir.name)

    def write_grids(model, step):
        with ema_or_raw(ema):
            grid_writer.write(model.generator, model.encoder, step)

    callbacks = [
        *([UpdateEMA(ema, start)] if ema else []),  # first: later ones see this step's EMA
        MetricsLogger(run.dir, start, extra=stats.row),
        LogChanges(stats.row, log),
        EveryNSteps(write_grids, start, config.sample_every, stop),
        EveryNSteps(
            lambda model, step: run.dir.save_checkpoint(
                model, step, config.keep_checkpoints, ema
            ),
            start, config.checkpoint_every, stop,
        ),
    ]
    return callbacks + training_monitors(run, start, stop, grid_writer.out_dir,
                                         lambda: ema_or_raw(ema))
