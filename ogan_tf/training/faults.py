"""Stopping a run without losing it (docs/faults.md).

- StopSignals: while a run trains, SIGINT (Ctrl-C) and SIGTERM (a preempted
  job) ask the fit to stop after the step in flight; training.train then
  writes that step's checkpoint and exits with 128 + the signal. Further
  signals are ignored, with a message, until the checkpoint is written.
- RunGuard: asked at every step's end on every worker (step_end.py); stops
  the fit when the loss or the weights stop being finite. The loss is read
  where Keras already made it a number (the end of each Keras epoch,
  log_every steps); the weights with one reduction before a checkpoint, grid
  or evaluation would be written from them. No device value is read per step. Under several workers it also makes
  them agree, at each epoch's end, to stop together when one was signalled.
"""

import math
import os
import signal
import threading

from ..model.finite import nonfinite_weights

SIGNALS = (signal.SIGINT, signal.SIGTERM)
NAMES = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}


def _say(text):
    """Write to stderr from a signal handler (os.write: no buffer to re-enter)."""
    try:
        os.write(2, ("\n" + text + "\n").encode())
    except OSError:
        pass


class StopSignals:
    """Context: SIGINT and SIGTERM set a stop request instead of killing.

    model: whose stop_training is set at once (one process: Keras ends the
    fit after the step in flight); with several workers (`at_once` False)
    the RunGuard stops them together instead. Outside the main thread,
    where Python cannot handle signals, it does nothing. The previous
    handlers come back on exit.
    """

    def __init__(self, model=None, at_once=True):
        self.model = model
        self.at_once = at_once
        self.signum = None  # the first signal received
        self.busy = ("the step in flight" if at_once else
                     "the steps to the end of this Keras epoch (all workers stop together)")
        self._previous = {}

    @property
    def requested(self):
        return self.signum is not None

    @property
    def status(self):
        """The exit status for the signal received (SIGTERM's where none was)."""
        return 128 + (self.signum or signal.SIGTERM)

    @property
    def name(self):
        return NAMES.get(self.signum, "a stop request")

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        for signum, previous in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)
        self._previous.clear()

    def _handle(self, signum, frame):
        if self.signum is None:
            self.signum = signum
            if self.at_once and self.model is not None:
                self.model.stop_training = True
            _say(f"ogan-tf: {NAMES[signum]}: stopping after {self.busy}, then saving; "
                 "more signals are ignored until the checkpoint is written")
        else:
            _say(f"ogan-tf: {NAMES[signum]} ignored: finishing {self.busy} first "
                 "(kill -9 ends at once and loses the steps since the last checkpoint)")

    def doing(self, what):
        """Name what a further signal waits for (the save, the export)."""
        self.busy = what


class RunGuard:
    """Stops the fit on a non-finite loss or weights, and on a stop request
    (see the module doc). The run's step end (step_end.StepEnd) asks it
    after the EMA update and before any write; the writes are skipped once
    `diverged` is set.

    check_every: the intervals (in steps) of those writes; the weights are
    checked at their steps and at `last_step`.
    """

    def __init__(self, check_every, last_step, stop, placement):
        self.check_every = [every for every in check_every if every]
        self.last_step = last_step
        self.stop = stop  # a StopSignals
        self.placement = placement
        self.diverged = None  # (step, what) once seen
        self.stopped_by_other = False  # another worker was signalled

    def at_train_begin(self, model):
        if self.stop.requested:  # a signal before the first step
            model.stop_training = True

    def check_weights(self, model, step):
        """At a step that writes (and the last): one reduction over the weights."""
        if self.diverged is None and (
                step == self.last_step or any(step % every == 0 for every in self.check_every)):
            bad = nonfinite_weights(model)
            if bad:
                listed = ", ".join(bad[:3]) + (", ..." if len(bad) > 3 else "")
                self._diverge(model, step, f"the weights hold NaN or infinite values ({listed})")

    def check_logs(self, model, step, logs):
        """At a Keras epoch's end: the logs Keras already made numbers."""
        bad = {}
        for key, value in logs.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue
            if not math.isfinite(number):
                bad[key] = number
        if bad:
            what = (", ".join(f"{k} {v}" for k, v in bad.items())
                    + f" in the Keras epoch ending at step {step}")
            if self.diverged is None:
                self._diverge(model, step, what)
            elif self.diverged[0] == step:  # the weights were checked first
                self.diverged = (step, f"{self.diverged[1]}, and {what}")

    def agree(self, model):
        """At a Keras epoch's end on every worker: stop all of them together
        where one was signalled (a collective: every worker calls it)."""
        if self.placement.workers > 1 and not model.stop_training:
            if self.placement.any_worker(self.stop.requested):
                self.stopped_by_other = not self.stop.requested
                model.stop_training = True

    def _diverge(self, model, step, what):
        self.diverged = (step, what)
        model.stop_training = True
