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
"""

import contextlib

import keras
import numpy as np
from keras import ops


def debiased_decay(decay, step):
    """d_t for update number `step` (1-based)."""
    return decay * (1.0 - decay ** (step - 1)) / (1.0 - decay**step)


class WeightEMA:
    """One moving average of `variables` per decay, kept outside the model
    (so checkpoints of the model stay the raw weights)."""

    def __init__(self, variables, decays):
        self.variables = list(variables)
        self.decays = tuple(decays)
        self.averages = {
            decay: [
                keras.Variable(ops.convert_to_numpy(v), trainable=False, name=f"ema_{i}")
                for i, v in enumerate(self.variables)
            ]
            for decay in self.decays
        }
        self._update = _compiled(self._update_eager)

    @classmethod
    def of_model(cls, model, decays):
        """EMAs of all weights of G and E (trainable and BN statistics)."""
        return cls([*model.generator.weights, *model.encoder.weights], decays)

    def _update_eager(self, factors):
        for k, decay in enumerate(self.decays):
            d = factors[k]
            for average, value in zip(self.averages[decay], self.variables):
                average.assign(d * average + (1.0 - d) * ops.cast(value, average.dtype))

    def update(self, step):
        """Fold in the current weights as update number `step` (>= 1)."""
        factors = np.array([debiased_decay(d, step) for d in self.decays], np.float32)
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
