"""Wires one training run: config -> data -> OGAN.fit -> step end -> files.

``start_run`` decides between a new run and resuming the latest checkpoint;
``train`` runs Keras' fit for the remaining steps with the run's one
step-end callback (step_end.py: EMA, finiteness, metrics, grids, checkpoint,
evaluation, TensorBoard, in that order).
"""

import math
import time
from pathlib import Path

import keras

from ..data.pipeline import DataStats, training_dataset
from ..data.sources import open_source
from ..errors import CheckpointError, DataError, DivergedError, OganError, RunStopped
from ..inference.export import export_run
from ..inference.grids import sample_grids
from ..messages import say
from ..model.keras_private import require as require_keras_internals
from ..runs import models as run_models
from ..runs.folder import RunDir
from ..runs.models import current_step
from ..runs.weights import weights_label
from . import distribute, hardware, plan, speed
from .building import build_model, load_for_run, make_ema, restore_ema
from .callbacks import LogProgress, StopAtStep
from .faults import RunGuard, StopSignals
from .monitors import Evaluator, TensorBoardWriter
from .step_end import StepEnd, Writes, ema_or_raw


class Run:
    """A run ready to train: its directory, config, model, start step, weight
    EMAs (None where the config keeps none, and on workers other than the
    chief) and placement (distribute.Placement: strategy, replicas, chief)."""

    def __init__(self, run_dir, config, model, start_step, resumed_from=None, ema=None,
                 placement=None, lock=None):
        self.dir = run_dir
        self.config = config
        self.model = model
        self.start_step = start_step
        self.resumed_from = resumed_from
        self.ema = ema
        self.placement = placement or distribute.Placement()
        self.lock = lock  # runs/<run>/lock, held by the chief until train() ends

    def release(self):
        """Give up the run's lock (train() does it when it ends)."""
        if self.lock is not None:
            self.lock.release()


def start_run(runs_dir, samples_dir, name, preset, overrides, fresh=False, log=say):
    """Open run `name`: resume its newest checkpoint that loads, or start from
    `preset`.

    preset: an experiments/ name; None means the run's own when resuming and
    DEFAULT_PRESET for a new run.
    overrides: settings given on the command line (None = not given). On
    resume, settings fixed for the run's life must match (else an error says
    what to do); the others (steps, intervals, learning rate...) take the new
    values.
    The chief takes the run's lock before it touches a file (RunInUseError
    where another trainer holds it); train() gives it up when it ends.
    """
    run_dir = RunDir(runs_dir, name)
    if fresh or run_dir.latest_checkpoint() is None:
        return _new_run(run_dir, samples_dir, preset, overrides, fresh, log)
    saved, config = plan.resumed_config(run_dir, preset, overrides)
    placement = distribute.place(config)
    require_keras_internals()  # after the strategy: it builds a Keras model
    lock = run_dir.lock(log) if placement.is_chief else None
    try:
        model, ema, path = resume_point(run_dir, config, placement, log)
        step = current_step(model)
        if placement.is_chief:
            run_dir.remove_temporaries()
            run_dir.truncate_metrics(step)
            run_dir.write_config(config)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    if config.learning_rate != saved.learning_rate:
        log(f"learning rate {saved.learning_rate:g} -> {config.learning_rate:g} from here on")
    if placement.is_chief:
        log(f"resuming run {name!r} from step {step} ({path}); "
            "pass --fresh (make train FRESH=1) to start over")
    return Run(run_dir, config, model, step, resumed_from=path, ema=ema, placement=placement,
               lock=lock)


def _new_run(run_dir, samples_dir, preset, overrides, fresh, log):
    """start_run for a run with no checkpoint (or --fresh): from `preset`."""
    config = plan.new_config(preset, overrides, log)  # all checks before any file is touched
    placement = distribute.place(config)
    require_keras_internals()  # after the strategy: it builds a Keras model
    config = speed.resolve(config, placement, log)  # `auto`: measured (throwaway models)
    # The run's seed also fixes the initial weights (same on every worker).
    keras.utils.set_random_seed(config.seed)
    if not placement.is_chief:  # only the chief touches the run's files
        with placement.scope():
            model = build_model(config)
        return Run(run_dir, config, model, 0, placement=placement)
    lock = run_dir.lock(log)
    try:
        if fresh and any(p.name != "lock" for p in run_dir.path.iterdir()):
            moved = [run_dir.archive()]
            lock.moved(moved[0])
            lock.release()  # the old run's lock, moved with it
            lock = run_dir.lock(log)
            samples = Path(samples_dir) / run_dir.name
            if samples.exists():
                moved.append(samples.rename(samples.with_name(moved[0].name)))
            log("--fresh: moved the old run aside to " + ", ".join(map(str, moved)))
        elif run_dir.metrics_path.exists() or run_dir.config_path.exists():
            log(f"{run_dir.path} has no checkpoint yet: starting it from step 0")
            run_dir.truncate_metrics(0)
        run_dir.remove_temporaries()
        run_dir.write_config(config)
        with placement.scope():
            model = build_model(config)
    except BaseException:
        lock.release()
        raise
    return Run(run_dir, config, model, 0, ema=make_ema(config, model), placement=placement,
               lock=lock)


def resume_point(run_dir, config, placement, log=say):
    """(model, ema, path) of the run's newest checkpoint that loads with its
    EMA files. Newer ones that do not load are named and (by the chief) moved
    to checkpoints/broken/, never deleted; CheckpointError, moving nothing,
    where none loads. ema is None on workers other than the chief."""
    failed = []
    for step in reversed(run_dir.checkpoint_steps()):
        path = run_dir.checkpoint_path(step)
        try:
            with placement.scope():
                model = load_for_run(path, config)  # with its EMA files, on every worker
            # The optimizer keeps the rate it saved; a resume may lower it
            # (after a divergence): the config's rate from here on.
            model.optimizer.learning_rate = config.learning_rate
            ema = make_ema(config, model) if placement.is_chief else None
            if ema:
                restore_ema(ema, model, path)
        except CheckpointError as err:
            failed.append((path, err))
            continue
        for bad, err in failed:
            where = "left in place"
            if placement.is_chief:
                where = f"moved to {run_dir.move_aside(bad)}"
            log(f"warning: {err}; {where}, resuming from the checkpoint before")
        return model, ema, path
    more = f" (nor do the {len(failed) - 1} before it)" if len(failed) > 1 else ""
    raise CheckpointError(
        f"no checkpoint of run {run_dir.name!r} loads: {failed[0][1]}{more}; restore a good "
        "one into " + f"{run_dir.checkpoints}, or start over with --fresh"
    )


def fit_steps(model, dataset, start, stop, steps_per_epoch, callbacks):
    """One Keras fit from global step `start` to `stop`.

    Epochs are `steps_per_epoch` long and numbered from step 0, so a resumed
    run continues the epoch count; StopAtStep ends the fit at exactly `stop`
    (mid-epoch if `stop` is not a multiple of steps_per_epoch). Keras'
    progress bar is off: LogProgress is the run's one progress display.
    """
    model.fit(dataset, initial_epoch=start // steps_per_epoch,
              epochs=math.ceil(stop / steps_per_epoch), steps_per_epoch=steps_per_epoch,
              callbacks=[*callbacks, StopAtStep(start, stop)], shuffle=False, verbose=0)


def train(run, samples_dir, log=say, callbacks=()):
    """Train `run` up to run.config.steps; returns the last metrics row (on
    workers other than the chief, which write nothing: None).

    callbacks: more Keras callbacks, after the run's own, on every worker.
    SIGINT and SIGTERM stop it after the step in flight, which is saved:
    RunStopped (faults.py). A loss or weights that are not finite stop it
    with DivergedError, nothing of them saved. The run's lock is given up
    when it returns or raises.
    """
    try:
        with StopSignals(run.model, at_once=run.placement.workers == 1) as signals:
            return _train(run, samples_dir, signals, log, callbacks)
    finally:
        run.release()


def _train(run, samples_dir, signals, log, extra_callbacks):
    config, model, placement = run.config, run.model, run.placement
    log(hardware.describe())
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
    end = step_end(run, samples_dir, stats, signals, log)
    guard, callbacks = end.guard, [end]
    for line in hardware.warnings(config) if chief else []:
        log(line)
    if chief:  # step, steps/s and the time left at each log interval
        hint = hardware.gpu_hint() if hardware.gpu_setting_on_cpu(config) else None
        callbacks.append(LogProgress(start, stop, log, hint))
    log(f"training {run.dir.name!r}: {config.variant} at {config.resolution} px, "
        f"widest layer {config.channels or config.resolution * 8}, z_dim {config.z_dim}, "
        f"batch {config.batch_size}, steps {start} -> {stop} "
        f"(G {model.generator.count_params():,} / E {model.encoder.count_params():,} params)"
        f"; {placement.describe()}")
    began = time.perf_counter()
    if not signals.requested:
        try:
            fit_steps(model, dataset, start, stop, config.log_every,
                      [*callbacks, *extra_callbacks])
        except Exception:
            if stats.fatal:  # the input pipeline gave up: say why in one line
                raise DataError(stats.fatal) from None
            raise
    seconds = time.perf_counter() - began
    step = current_step(model)
    if guard.diverged:
        raise diverged_error(run, *guard.diverged)
    stopping = signals.requested or guard.stopped_by_other
    if step < stop and stopping:
        _save_and_stop(run, signals, step)
    if step != stop:
        raise OganError(f"training stopped at step {step} of {stop}")
    if not chief:
        log(f"worker {placement.worker}: done, {stop - start} steps in {seconds:.0f} s; "
            "the chief wrote the run's files")
        return None
    return _finish(run, samples_dir, signals, stop - start, seconds, log)


def _finish(run, samples_dir, signals, steps, seconds, log):
    """The chief after the last step: the summary line, the export; the
    last metrics row (RunStopped where a signal came during the last step)."""
    config, stop = run.config, run.config.steps
    rows = run.dir.read_metrics()
    last = rows[-1] if rows else {}
    log(f"done: {steps} steps in {seconds:.0f} s "
        f"({steps / seconds:.2f} steps/s incl. grids and checkpoints); "
        f"z_corr {last.get('z_corr', float('nan')):.3f}; "
        f"grids in {Path(samples_dir) / run.dir.name}, checkpoints in {run.dir.checkpoints}")
    skipped = ""
    if config.export_at_end != "none":
        if signals.requested:
            skipped = f"; the export was skipped: `ogan-tf export --run {run.dir.name}` writes it"
        else:
            signals.doing("the export")
            export_run(run.dir.path.parent, run.dir.name,
                       saved_model=config.export_at_end == "all", log=log)
    if signals.requested:
        raise RunStopped(f"stopped by {signals.name} after the last step ({stop}): the run is "
                         f"complete{skipped}", signals.status)
    return last


def _save_and_stop(run, signals, step):
    """After a stop request: write the checkpoint of `step` (the chief), then
    raise RunStopped with the exit status of the signal."""
    name, stop = run.dir.name, run.config.steps
    why = signals.name if signals.requested else "a stop request on another worker"
    if not run.placement.is_chief:
        raise RunStopped(f"worker {run.placement.worker}: stopped by {why} at step {step} "
                         "with the other workers; the chief saved the checkpoint",
                         signals.status)
    if step == run.start_step:
        raise RunStopped(f"stopped by {why} before the first step; nothing new to save",
                         signals.status)
    path = run.dir.checkpoint_path(step)
    if step not in run.dir.checkpoint_steps():
        signals.doing(f"writing the checkpoint of step {step}")
        try:
            path = run_models.save_checkpoint(run.dir, run.model, step,
                                              run.config.keep_checkpoints, run.ema)
        except DivergedError:
            raise diverged_error(run, step, "the weights hold NaN or infinite values") from None
    raise RunStopped(
        f"stopped by {why} at step {step} of {stop}; checkpoint {path} written; "
        f"`ogan-tf train --run {name}` (make train RUN={name}) resumes from it",
        signals.status,
    )


def diverged_error(run, step, what):
    """The one-line DivergedError: where, and the last good checkpoint."""
    lower = f"--learning-rate {run.config.learning_rate / 2:g}"
    latest = run.dir.latest_checkpoint()
    if latest is None:
        resume = ("no checkpoint was written before it: train again with a lower learning "
                  f"rate ({lower}) to start over")
    else:
        resume = (f"the last good checkpoint is {latest}: `ogan-tf train --run {run.dir.name} "
                  f"{lower}` resumes from it with a lower learning rate")
    return DivergedError(f"training diverged by step {step}: {what}; nothing of it was "
                         f"saved; {resume}")


def step_end(run, samples_dir, stats, signals, log=say):
    """The run's one step-end callback (step_end.py): its guard on every
    worker, and on the chief what it writes (grids, checkpoints, metrics,
    evaluation, TensorBoard)."""
    config, ema = run.config, run.ema
    guard = RunGuard((config.checkpoint_every, config.sample_every, config.eval_every),
                     config.steps, signals, run.placement)
    writes = None
    if run.placement.is_chief:
        evaluator = board = None
        if config.eval_every:
            evaluator = Evaluator(config, run.dir, lambda: ema_or_raw(ema),
                                  weights_label(config, "auto"))
        if config.tensorboard:
            board = TensorBoardWriter(run.dir.path / "tensorboard")
        writes = Writes(run.dir, config, ema, sample_grids(config, samples_dir, run.dir.name),
                        stats.row, log, evaluator, board)
    return StepEnd(run.start_step, config.steps, guard, writes)
