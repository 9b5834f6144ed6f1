"""The fused train step: the author's loss and gradients with ONE E pass on
G(z), on TensorFlow (a gradient tape) and on JAX (jax.vjp); one definition
per backend, chosen by ``train_step_for``.

In the author's graph E(G(z)) and E(stop_gradient(G(z))) are the same
function of E's weights at the same point (BN uses each call's own batch
statistics), so with L's partial derivatives c_fake (w.r.t. z_fake) and
c_ng (w.r.t. z_fake_ng):

    dL/dE = J_E(x_real)^T c_real + J_E(G(z))^T (c_fake + c_ng)
    dL/dG = J_G^T J_x(G(z))^T c_fake

Two vector-Jacobian products from the one forward give both; the unused
halves of each backward pass (filter gradients in the second, the input
gradient of E's first layer in the first) are pruned from the traced graph
(under jit, XLA drops them on JAX). BN moving statistics get the author's
two updates from the fake batch (batchnorm.SquaredMomentum).
"""

import keras
from keras import ops

from .keras_private import loss_tracker, update_metrics_variables
from .losses import loss_inputs
from .replicas import is_multi_worker, replica_position, wait_for_replicas


# TensorFlow --------------------------------------------------------------------
def tf_fused_gradients(model, x_real, z, scale_loss=lambda loss: loss):
    """(loss, y_pred, grads) under a tf.GradientTape; grads aligned with
    model.trainable_variables; scale_loss applied before differentiating."""
    import tensorflow as tf

    G, E = model.generator, model.encoder
    with tf.GradientTape(persistent=True) as tape:
        x_fake = model.seen_by_encoder(G(z, training=True))  # DiffAugment, if on
        x_real = model.seen_by_encoder(x_real)
        e_real = E(x_real, training=True)
        wait_for_replicas()
        with model.encoder_momentum_squared():
            e_fake = E(x_fake, training=True)
        e_fake_ng = tf.stop_gradient(e_fake)  # the third call's value, E-only
        tape.watch(e_fake_ng)
        y_pred = loss_inputs(z, x_real, tf.stop_gradient(x_fake), e_real, e_fake, e_fake_ng)
        loss = model.compute_loss(y_pred=y_pred)
        scaled = scale_loss(loss)
    c_real, c_fake, c_ng = tape.gradient(scaled, [e_real, e_fake, e_fake_ng])
    e_vars, g_vars = E.trainable_variables, G.trainable_variables
    e_grads = tape.gradient([e_real, e_fake], e_vars, output_gradients=[c_real, c_fake + c_ng])
    g_grads = tape.gradient(e_fake, g_vars, output_gradients=c_fake)
    del tape
    by_id = {id(v): g for v, g in zip(e_vars + g_vars, e_grads + g_grads)}
    grads = [by_id.get(id(v)) if by_id.get(id(v)) is not None else tf.zeros_like(v)
             for v in model.trainable_variables]
    return loss, y_pred, grads


def tf_train_step(model, keras_step, data):
    """OGAN.train_step on TensorFlow: Keras' own step (keras_step) or the
    fused one."""
    logs = _tf_fused_step(model, data) if model.fused_step else keras_step(data)
    if is_multi_worker():
        # Keras 3's TF trainer reduces a step's metrics across the workers of
        # a MultiWorkerMirroredStrategy with reduce(MEAN, axis=0), which fails
        # on scalars (tensorflow/tensorflow#72388). The values are already
        # equal on every replica (metric variables sum across replicas), so
        # one-element vectors reduce to the same numbers.
        logs = {k: ops.reshape(v, (1,)) for k, v in logs.items()}
    return logs


def _tf_fused_step(model, data):
    x_real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    z = model.draw_z(ops.shape(x_real)[0])
    loss, y_pred, grads = tf_fused_gradients(model, x_real, z, model.optimizer.scale_loss)
    # Keras' own "loss" metric, updated as its train step does (the
    # per-replica loss unscaled, see OGAN.compute_loss).
    replicas, _ = replica_position()
    loss_tracker(model).update_state(loss * replicas, sample_weight=ops.shape(x_real)[0])
    model.optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return model.compute_metrics(x_real, None, y_pred, sample_weight=None)


# JAX ------------------------------------------------------------------------------
def jax_stateless_fused_gradients(model, trainable, non_trainable, metrics, x_real, z,
                                  scale_loss):
    """The fused gradients as a pure function of the variables' values (lists
    aligned with model.trainable_variables, non_trainable_variables and
    metrics_variables), for Keras' stateless JAX train step.

    One forward (G on z, E on x_real and on G(z), the latter with BN momentum
    squared) under jax.vjp; the loss's cotangents c_real, c_fake, c_ng; then
    two pullbacks of that one forward: (c_real, c_fake + c_ng) for E's
    weights, (0, c_fake) for G's.

    Returns (unscaled loss, scaled loss, y_pred, grads, non_trainable,
    metrics): grads of the scaled loss, the new non-trainable values (BN
    moving statistics) and metric values (t1, z_corr).
    """
    import jax

    G, E = model.generator, model.encoder
    variables, states = model.trainable_variables, model.non_trainable_variables

    def forward(trainable):
        mapping = list(zip(variables, trainable)) + list(zip(states, non_trainable))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            x_fake = model.seen_by_encoder(G(z, training=True))  # DiffAugment, if on
            x_seen = model.seen_by_encoder(x_real)
            e_real = E(x_seen, training=True)
            with model.encoder_momentum_squared():
                e_fake = E(x_fake, training=True)
        updated = [scope.get_current_value(v) for v in states]
        return (e_real, e_fake), (ops.stop_gradient(x_fake), updated, x_seen)

    (e_real, e_fake), pullback, (x_fake_ng, new_states, x_seen) = jax.vjp(
        forward, list(trainable), has_aux=True)

    def loss_of(e_real, e_fake, e_fake_ng):
        y_pred = loss_inputs(z, x_seen, x_fake_ng, e_real, e_fake, e_fake_ng)
        loss, (_, _, new_metrics) = model.stateless_compute_loss(
            trainable, new_states, metrics, x=x_real, y_pred=y_pred, training=True)
        return scale_loss(loss), (loss, y_pred, new_metrics)

    scaled, loss_pullback, (loss, y_pred, new_metrics) = jax.vjp(
        loss_of, e_real, e_fake, e_fake, has_aux=True)
    c_real, c_fake, c_ng = loss_pullback(ops.ones_like(scaled))
    e_grads = pullback((c_real, c_fake + c_ng))[0]
    g_grads = pullback((ops.zeros_like(c_real), c_fake))[0]
    e_ids = {id(v) for v in E.trainable_variables}
    grads = [e if id(v) in e_ids else g for v, e, g in zip(variables, e_grads, g_grads)]
    return loss, scaled, y_pred, grads, new_states, new_metrics


def jax_fused_gradients(model, x_real, z, scale_loss=lambda loss: loss):
    """(loss, y_pred, grads) on JAX outside fit: the stateless gradients under
    jit, the BN and metric updates assigned to the variables (as TF's eager
    calls do)."""
    import jax

    fused = jax.jit(lambda *values: jax_stateless_fused_gradients(model, *values, scale_loss))
    loss, _, y_pred, grads, non_trainable, metrics = fused(
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in model.metrics_variables], x_real, z)
    for v, value in zip(model.non_trainable_variables + model.metrics_variables,
                        non_trainable + metrics):
        v.assign(value)
    return loss, y_pred, grads


def jax_train_step(model, keras_step, state, data):
    """OGAN.train_step on JAX: Keras' own step (keras_step) or the fused one,
    mirroring Keras' (keras/src/backend/jax/trainer.py): stateless, on the
    state tuples."""
    if not model.fused_step:
        return keras_step(state, data)
    trainable, non_trainable, optimizer_vars, metrics = state
    x_real, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    mapping = list(zip(model.non_trainable_variables, non_trainable))
    with keras.StatelessScope(state_mapping=mapping) as scope:
        z = model.draw_z(ops.shape(x_real)[0])
    non_trainable = [scope.get_current_value(v) for v in model.non_trainable_variables]

    def scale_loss(loss):
        # As Keras: scale in a scope that reads the optimizer's state.
        mapping = list(zip(model.optimizer.variables, optimizer_vars))
        with keras.StatelessScope(state_mapping=mapping):
            return model.optimizer.scale_loss(loss)

    loss, _, y_pred, grads, non_trainable, metrics = jax_stateless_fused_gradients(
        model, trainable, non_trainable, metrics, x_real, z, scale_loss)
    trainable, optimizer_vars = model.optimizer.stateless_apply(optimizer_vars, grads, trainable)
    logs, metrics = update_metrics_variables(model, metrics, loss, x_real, y, y_pred,
                                             sample_weight)
    return logs, (trainable, non_trainable, optimizer_vars, metrics)


# Chosen by backend ------------------------------------------------------------------
def _keras_step(model, keras_step, *args):
    return keras_step(*args)


def train_step_for(backend):
    """OGAN.train_step's body on `backend`: f(model, keras_step, *args), args
    as Keras' trainer passes them (data on TensorFlow; state, data on JAX).
    Other backends keep Keras' own step (train.training refuses fused_step
    there)."""
    return {"tensorflow": tf_train_step, "jax": jax_train_step}.get(backend, _keras_step)


def fused_gradients_for(backend):
    """fused_gradients(model, x_real, z, scale_loss) on `backend` (None where
    there is none)."""
    return {"tensorflow": tf_fused_gradients, "jax": jax_fused_gradients}.get(backend)
