"""Keras callbacks that turn a fit into a run: grids, checkpoints, metrics.

They count steps themselves (start step + batches seen) so that nothing
reads a device value every step; metric values are read once per Keras
epoch (``log_every`` steps), from the logs Keras already computed.
"""

import time

import keras


class StepCallback(keras.callbacks.Callback):
    """Base: counts the global step (the run's start step + batches seen).

    on_step_end(step) runs once step `step` is done: at the start of the next
    batch, or at the end of the epoch / of training for the last one. Why not
    on_train_batch_end: a callback that overrides it makes Keras turn every
    step's logs into Python numbers (a device sync per step, and no
    overlap of one step's dispatch with the last one's compute).
    Subclasses that override on_train_batch_begin, on_epoch_end or
    on_train_end must call super() first.
    """

    def __init__(self, start_step):
        super().__init__()
        self.step = start_step
        self._step_pending = False

    def on_train_batch_begin(self, batch, logs=None):
        self._end_pending_step()
        self.step += 1
        self._step_pending = True
        self.on_step_begin(self.step)

    def on_epoch_end(self, epoch, logs=None):
        self._end_pending_step()

    def on_train_end(self, logs=None):
        self._end_pending_step()

    def _end_pending_step(self):
        if self._step_pending:
            self._step_pending = False
            self.on_step_end(self.step)

    def on_step_begin(self, step):
        pass

    def on_step_end(self, step):
        pass


class StopAtStep(StepCallback):
    """Ends fit at global step `stop`, also in the middle of an epoch."""

    def __init__(self, start_step, stop):
        super().__init__(start_step)
        self.stop = stop

    def on_step_begin(self, step):
        if step >= self.stop:  # Keras runs this step, then stops
            self.model.stop_training = True


class UpdateEMA(StepCallback):
    """Folds the weights into their moving averages after every step.

    Comes first among the callbacks, so grids and checkpoints of a step see
    that step's averages.
    """

    def __init__(self, ema, start_step):
        super().__init__(start_step)
        self.ema = ema

    def on_step_end(self, step):
        # JAX's fit keeps the weights outside the variables mid-epoch; the
        # EMA reads the variables, so put this step's weights back first.
        if keras.backend.backend() == "jax":
            self.model.jax_state_sync()
        self.ema.update(step)


class EveryNSteps(StepCallback):
    """Calls action(model, step) every `every` steps and at the last step
    (the grids and the checkpoints); never once `guard` (a faults.RunGuard,
    earlier in the list) has seen the run diverge."""

    def __init__(self, action, start_step, every, last_step, guard=None):
        super().__init__(start_step)
        self.action = action
        self.every = every
        self.last_step = last_step
        self.guard = guard

    def on_step_end(self, step):
        if self.guard is not None and self.guard.diverged:
            return
        if step % self.every == 0 or step == self.last_step:
            self.action(self.model, step)


class MetricsLogger(StepCallback):
    """Appends one metrics.jsonl row per Keras epoch: the epoch's means."""

    def __init__(self, run_dir, start_step, extra=None):
        super().__init__(start_step)
        self.run_dir = run_dir
        self.extra = extra  # a callable -> dict of more fields (the data counters)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = (self.step, time.perf_counter())

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        first_step, started = self.epoch_start
        seconds = time.perf_counter() - started
        row = {"step": self.step, "time": round(time.time(), 3)}
        row.update({k: float(v) for k, v in (logs or {}).items()})
        row["steps_per_s"] = round((self.step - first_step) / max(seconds, 1e-9), 3)
        if self.extra is not None:
            row.update(self.extra())
        self.run_dir.append_metrics(row)


class LogChanges(keras.callbacks.Callback):
    """Logs counters (a callable -> dict) at an epoch's end when they changed:
    the images the input pipeline skipped or upscaled."""

    def __init__(self, counts, log=print, prefix="data: "):
        super().__init__()
        self.counts, self.log, self.prefix = counts, log, prefix
        self.last = counts()

    def on_epoch_end(self, epoch, logs=None):
        now = self.counts()
        if now != self.last:
            # a new line: Keras' progress bar has not ended its line yet
            self.log("\n" + self.prefix + ", ".join(f"{k} {v}" for k, v in now.items()))
            self.last = now


def progress_line(step, stop, steps_per_s):
    """'step 300/10,500 (2.9%), 6.81 steps/s, 25 min left': the line each
    log interval prints."""
    left = (stop - step) / max(steps_per_s, 1e-9)
    if left >= 3600:
        told = f"{int(left // 3600)} h {int(left % 3600 // 60):02d} min"
    elif left >= 60:
        told = f"{int(left // 60)} min {int(left % 60):02d} s"
    else:
        told = f"{left:.0f} s"
    return (f"step {step:,}/{stop:,} ({100 * step / max(stop, 1):.1f}%), "
            f"{steps_per_s:.2f} steps/s, {told} left")


class LogProgress(StepCallback):
    """Logs at each Keras epoch's end (every log interval) the step out of
    the total, steps/s and the time left (progress_line). The rate is the
    interval's own, timed on the host between epoch ends (no device sync);
    in the first interval it starts at the end of the first step, whose time
    holds the tracing and compiling. hint: words added to the first line
    (the GPU set-up, when a GPU preset trains on a CPU)."""

    def __init__(self, start_step, stop, log=print, hint=None):
        super().__init__(start_step)
        self.stop, self.log, self.hint = stop, log, hint
        self.mark = None  # (step, time) the next interval's rate counts from

    def on_step_end(self, step):
        if self.mark is None:
            self.mark = (step, time.perf_counter())

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.mark is None or self.step == self.mark[0]:
            return
        now = time.perf_counter()
        rate = (self.step - self.mark[0]) / max(now - self.mark[1], 1e-9)
        line = progress_line(self.step, self.stop, rate)
        if self.hint:
            line, self.hint = f"{line}; {self.hint}", None
        # a new line: Keras' progress bar has not ended its line yet
        self.log("\n" + line)
        self.mark = (self.step, now)
