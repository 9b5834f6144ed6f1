"""The step-counting base of the run's Keras callbacks, and the small ones
whose order does not matter: stopping at a step, the time estimate. What a
run does at each step's end, in order, is step_end.py.

They count steps themselves (start step + batches seen) so that nothing
reads a device value every step.
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


class LogEstimate(StepCallback):
    """Logs once, at the end of the first epoch, how long the remaining
    steps will take: the rate of the steps after the first (whose time holds
    the tracing and compiling of the step)."""

    def __init__(self, start_step, stop, describe, log=print):
        super().__init__(start_step)
        self.stop, self.describe, self.log = stop, describe, log
        self.first = None  # (step, time) once the first step is done
        self.done = False

    def on_step_end(self, step):
        if self.first is None:
            self.first = (step, time.perf_counter())

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if self.done or self.first is None or self.step == self.first[0]:
            return
        step, began = self.first
        rate = (self.step - step) / max(time.perf_counter() - began, 1e-9)
        self.log("\n" + self.describe(rate, self.stop - self.step))
        self.done = True
