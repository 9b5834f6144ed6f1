"""Every private Keras internal ogan_tf touches, in this one module.

The fused step (model/step.py) replaces Keras' train step and must update
Keras' own loss metric and metric state as Keras' step does; the author's
RMSprop (model/optimizer.py) reads Keras' velocity slots. These names are not
Keras API: training checks them when it starts (``require``) and names the
Keras versions the suite passed on if one is gone, while exports and
inference, which use public Keras only, accept any Keras 3. To add a
version to TRAINING_TESTED, run ``make test`` on it; ``missing()``
(tests/test_model.py) names what a Keras has dropped.
"""

import keras

from ..errors import ConfigError

TRAINING_TESTED = "3.14.1 and 3.15.1"  # the Keras versions `make test` passed on


def loss_tracker(model):
    """Keras' "loss" metric, which its train steps update."""
    return model._loss_tracker


def update_metrics_variables(model, metrics, loss, x, y, y_pred, sample_weight):
    """Keras' stateless metric update of its JAX train step: (logs, metrics)."""
    return model._update_metrics_variables(metrics, loss, x, y, y_pred, sample_weight)


def rmsprop_velocity(optimizer, variable):
    """The RMSprop slot v of `variable`."""
    return optimizer._velocities[optimizer._get_variable_index(variable)]


def sync_jax_state(model):
    """Mid-epoch, JAX's fit keeps the state outside the variables: write it
    back (a no-op elsewhere)."""
    if keras.backend.backend() == "jax" and hasattr(model, "jax_state_sync"):
        model.jax_state_sync()


def missing():
    """The internals above that this Keras lacks ([] on a tested version)."""
    model = keras.Model()
    optimizer = keras.optimizers.RMSprop()
    optimizer.build([keras.Variable([0.0])])
    wanted = [(model, "_loss_tracker"), (optimizer, "_get_variable_index"),
              (optimizer, "_velocities")]
    if keras.backend.backend() == "jax":
        wanted += [(model, "_update_metrics_variables"), (model, "jax_state_sync")]
    return [name for owner, name in wanted if not hasattr(owner, name)]


def require():
    """Raise ConfigError (one line) where this Keras lacks an internal that
    training uses."""
    gone = missing()
    if gone:
        raise ConfigError(
            f"training uses Keras internals that Keras {keras.__version__} lacks "
            f"({', '.join(gone)}); it is tested on Keras {TRAINING_TESTED}: "
            "pip install 'keras==3.15.1' (exports and inference work on any Keras 3)")
