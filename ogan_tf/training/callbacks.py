"""The step-counting base of the run's Keras callbacks, and the small ones
whose order does not matter: stopping at a step, the progress line. What a
run does at each step's end, in order, is step_end.py.

They count steps themselves (start step + batches seen) so that nothing
reads a device value every step.
"""

import time

import keras

from ..messages import LIVE_EVERY_S, end_progress, progress, say


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
    """The run's one progress display (messages.progress): the step out of
    the total, steps/s and the time left. At each Keras epoch's end (every
    log interval) a line for the log; on the CLI's terminal the same line is
    also redrawn in place between them. The rate is the interval's own,
    timed on the host (no device sync); in the first interval it starts at
    the end of the first step, whose time holds the tracing and compiling.
    hint: words added to the first interval's line (the GPU set-up, when a
    GPU preset trains on a CPU)."""

    def __init__(self, start_step, stop, log=say, hint=None):
        super().__init__(start_step)
        self.stop, self.log, self.hint = stop, log, hint
        self.mark = None  # (step, time) the next interval's rate counts from
        self.drawn = 0.0  # when the live line was last redrawn

    def line(self, now):
        rate = (self.step - self.mark[0]) / max(now - self.mark[1], 1e-9)
        return progress_line(self.step, self.stop, rate)

    def on_step_end(self, step):
        now = time.perf_counter()
        if self.mark is None:
            self.mark = (step, now)
        elif now - self.drawn >= LIVE_EVERY_S and step > self.mark[0]:
            self.drawn = now
            progress(self.line(now), interval_end=False, log=self.log)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.mark is None or self.step == self.mark[0]:
            return
        now = time.perf_counter()
        line = self.line(now)
        if self.hint:
            line, self.hint = f"{line}; {self.hint}", None
        progress(line, interval_end=True, log=self.log)
        self.mark = (self.step, now)

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        end_progress()
