"""Exponential moving averages of G's and E's weights (the 256 px setting).

The author's 256 px script keeps two EMAs (decays 0.999 and 0.9999) of all
weights, BatchNorm moving statistics included, with Keras 2.2.4's
``K.moving_average_update``, which is TensorFlow's zero-debiased
``assign_moving_average``: after t updates the average is

    sum_i (1 - d) d^(t-i) w_i / (1 - d^t)

so the start weights carry no special weight. We keep that debiased average
directly: avg_t = d_t avg_(t-1) + (1 - d_t) w_t with
d_t = d (1 - d^(t-1)) / (1 - d^t) (d_1 = 0: the first update copies w).
t is the run's step, so a resumed run goes on with the right factor and no
extra state beyond the averaged weights themselves.

Ramp-up (an option, off in the author's presets): StyleGAN2-ADA's
``ema_rampup`` caps the average's half-life at a fraction r of what the run
has seen so far. Its half-life is counted in images, ours in steps (one
batch size throughout, so the same thing): at update t the half-life is at
most r t steps, a decay of at most 0.5 ** (1 / (r t)). We take the smaller
of that and the debiased d_t: early in a run the average follows the
weights closely (after 300 steps with r = 0.05, a half-life of 15 steps
instead of the 693 of decay 0.999, so a short run's average is not
mostly its untrained start), and from t = ln 2 / (r ln(1/d)) on (13,850
steps for d = 0.999, r = 0.05) the plain debiased decay rules.
"""

import contextlib

import keras
import numpy as np
from keras import ops


def debiased_decay(decay, step):
    """d_t for update number `step` (1-based)."""
    return decay * (1.0 - decay ** (step - 1)) / (1.0 - decay**step)


def rampup_decay(rampup, step):
    """The largest decay whose half-life is at most rampup * step steps."""
    return 0.5 ** (1.0 / (rampup * step))


def step_decay(decay, step, rampup=0.0):
    """The factor of update number `step`: the debiased decay, capped by the
    ramp-up's when rampup > 0."""
    d = debiased_decay(decay, step)
    return min(d, rampup_decay(rampup, step)) if rampup > 0 else d


class WeightEMA:
    """One moving average of `variables` per decay, kept outside the model
    (so checkpoints of the model stay the raw weights)."""

    def __init__(self, variables, decays, rampup=0.0):
        self.variables = list(variables)
        self.decays = tuple(decays)
        self.rampup = float(rampup)  # 0: the author's plain (debiased) average
        self.averages = {
            decay: [
                keras.Variable(ops.convert_to_numpy(v), trainable=False, name=f"ema_{i}")
                for i, v in enumerate(self.variables)
            ]
            for decay in self.decays
        }
        self._update = _compiled(self._update_eager)

    @classmethod
    def of_model(cls, model, decays, rampup=0.0):
        """EMAs of all weights of G and E (trainable and BN statistics)."""
        return cls([*model.generator.weights, *model.encoder.weights], decays, rampup)

    def _update_eager(self, factors):
        for k, decay in enumerate(self.decays):
            d = factors[k]
            for average, value in zip(self.averages[decay], self.variables):
                average.assign(d * average + (1.0 - d) * ops.cast(value, average.dtype))

    def update(self, step):
        """Fold in the current weights as update number `step` (>= 1)."""
        factors = np.array([step_decay(d, step, self.rampup) for d in self.decays],
                           np.float32)
        self._update(ops.convert_to_tensor(factors))

    def values(self, decay):
        return [ops.convert_to_numpy(a) for a in self.averages[decay]]

    def set_values(self, decay, values):
        for average, value in zip(self.averages[decay], values):
            average.assign(value)

    @contextlib.contextmanager
    def swapped_in(self, decay):
        """Inside the block, the model's variables hold the `decay` average."""
        raw = [ops.convert_to_numpy(v) for v in self.variables]
        try:
            for variable, value in zip(self.variables, self.values(decay)):
                variable.assign(value)
            yield
        finally:
            for variable, value in zip(self.variables, raw):
                variable.assign(value)


def _compiled(fn):
    """The per-step update as one graph on TensorFlow (one call instead of
    3 eager ops per variable); plain Python elsewhere."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(fn)
    return fn
