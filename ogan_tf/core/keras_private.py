"""Every private Keras internal ogan_tf touches, in this one module.

The fused step (core/fused.py) replaces Keras' train step and must update
Keras' own loss metric and metric state as Keras' step does; the author's
RMSprop (core/optimizer.py) reads Keras' velocity slots. These names are not
Keras API, so setup.cfg allows only the Keras versions the suite ran on
(``keras>=3.15,<3.16``: 3.15.1). To widen it, run ``make test`` on the new
version; ``missing()`` (tests/test_model.py) names what a Keras has dropped.
"""

import keras


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
