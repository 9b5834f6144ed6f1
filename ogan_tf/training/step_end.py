"""The end of every step of a run, in one place and in the order written:

    EMA -> finiteness -> metrics -> grids -> checkpoint -> evaluation -> TensorBoard

One Keras callback (StepEnd) on every worker; the chief also writes the
run's files (Writes). Nothing here reads a device value per step: the
metrics are the means Keras already made numbers at each Keras epoch's end
(log_every steps), and the weights are checked only at a step that writes.
"""

import contextlib
import time
from dataclasses import dataclass
from typing import Callable

from ..errors import DiskFullError
from ..messages import detail, say
from ..model.keras_private import sync_jax_state
from ..runs import models as run_models
from .callbacks import StepCallback


def ema_or_raw(ema):
    """Context in which the model holds the weights grids are drawn with:
    the first EMA where the run keeps them (as the author), else the raw."""
    return ema.swapped_in(ema.decays[0]) if ema else contextlib.nullcontext()


@dataclass
class Writes:
    """What the chief writes at a step's end; None: not in this run."""

    run_dir: object  # runs.folder.RunDir
    config: object  # config.Config
    ema: object  # model.ema.WeightEMA
    grids: object  # inference.grids.SampleGrids
    data_counts: Callable[[], dict]  # the input pipeline's counters (DataStats.row)
    log: Callable = say
    evaluator: object = None  # monitors.Evaluator
    tensorboard: object = None  # monitors.TensorBoardWriter


def due(step, every, last_step):
    """Whether an action of interval `every` (0: never) runs at `step`: its
    multiples and the last step."""
    return bool(every) and (step % every == 0 or step == last_step)


class StepEnd(StepCallback):
    """Ends each step of the fit (see the module doc).

    guard: the run's faults.RunGuard, on every worker; writes: the chief's
    Writes (None on the other workers, which only check and agree).
    """

    def __init__(self, start_step, last_step, guard, writes=None):
        super().__init__(start_step)
        self.last_step, self.guard, self.writes = last_step, guard, writes
        self.epoch_logs = None  # the Keras epoch's logs while its last step ends
        self.epoch_start = (start_step, time.perf_counter())
        self.data_seen = writes.data_counts() if writes else None

    def on_train_begin(self, logs=None):
        self.guard.at_train_begin(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = (self.step, time.perf_counter())

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_logs = dict(logs or {})
        try:
            super().on_epoch_end(epoch, logs)  # ends the epoch's last step
        finally:
            self.epoch_logs = None

    def on_step_end(self, step):
        model, writes, logs = self.model, self.writes, self.epoch_logs
        # 1. EMA: everything below sees this step's averages
        if writes and writes.ema:
            sync_jax_state(model)  # JAX's fit keeps this step's weights outside them
            writes.ema.update(step)
        # 2. Finiteness, before anything is written; all workers stop together
        self.guard.check_weights(model, step)
        if logs is not None:
            self.guard.check_logs(model, step, logs)
            self.guard.agree(model)
        if writes is None:
            return
        # 3. Metrics: one row per Keras epoch, also for a diverged one
        row = self.metrics_row(step, logs) if logs is not None else None
        grids = evaluation = None
        if not self.guard.diverged:
            config = writes.config
            # 4. Grids
            if due(step, config.sample_every, self.last_step):
                grids = self.write_grids(step)
            # 5. Checkpoint
            if due(step, config.checkpoint_every, self.last_step):
                run_models.save_checkpoint(writes.run_dir, model, step, config.keep_checkpoints,
                                           writes.ema)
            # 6. Evaluation
            if writes.evaluator and due(step, config.eval_every, self.last_step):
                evaluation = writes.evaluator.evaluate(model, step)
        # 7. TensorBoard
        if writes.tensorboard:
            self.to_tensorboard(step, row, grids, evaluation)

    def metrics_row(self, step, logs):
        """Append the Keras epoch's means (and the data counters) to
        metrics.jsonl; log the counters where they changed."""
        writes = self.writes
        first_step, started = self.epoch_start
        seconds = time.perf_counter() - started
        row = {"step": step, "time": round(time.time(), 3)}
        row.update({k: float(v) for k, v in logs.items()})
        row["steps_per_s"] = round((step - first_step) / max(seconds, 1e-9), 3)
        counts = writes.data_counts()
        row.update(counts)
        writes.run_dir.append_metrics(row)
        detail("metrics: " + ", ".join(f"{k} {v:.4g}" for k, v in row.items()
                                        if k not in ("step", "time")) + f" at step {step}")
        if counts != self.data_seen:
            writes.log("data: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
            self.data_seen = counts
        return row

    def write_grids(self, step):
        """Draw and write the three grids of `step`; returns them ({kind:
        uint8}), or None where the disk is full (grids can wait; a
        checkpoint stops the run)."""
        writes = self.writes
        with ema_or_raw(writes.ema):
            images = writes.grids.images(self.model.generator, self.model.encoder)
        try:
            writes.grids.save(step, images)
        except DiskFullError as err:
            writes.log(f"warning: the grids of step {step} are skipped: {err}")
            return None
        return images

    def to_tensorboard(self, step, row, grids, evaluation):
        board = self.writes.tensorboard
        if grids:
            board.images(step, grids)
        if row:
            board.scalars(step, row)
        if evaluation:
            board.scalars(step, evaluation, prefix="eval/")
