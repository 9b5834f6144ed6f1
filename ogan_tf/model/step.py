"""One O-GAN training step, read top to bottom in its phases:

    1 sample z    z ~ N(0, I) from the model's SeedGenerator (OGAN.draw_z:
                  under tf.distribute each replica its rows of the global batch)
    2 generate    G(z)
    3 augment     every image E sees, real and generated, through DiffAugment
                  where the model has it (OGAN(augment=...)), else unchanged
    4 score       E on the real images and on the generated ones
    5 losses      ONE loss for both players: the GAN loss around the encoder
                  term (losses.GAN_LOSSES); its stop-gradients route each
                  term to its player
    6 gradients   of that one loss, for G's and E's weights together
    7 apply       one optimizer steps G and E (model/optimizer.py)

Two ways through phases 4 and 6, with the same numbers (tests/test_speed.py),
chosen by OGAN(fused_step=...):

  plain  the author's graph (``author_graph``): E scores T(x_real), T(G(z))
         and a stop-gradient copy of T(G(z)), three calls; Keras' own train
         step differentiates the loss and applies the gradients.
  fused  E scores T(G(z)) once (``fused_scores``). E(T(G(z))) and the copy
         are the same function of E's weights at the same point (BN uses
         each call's own batch statistics), so with L's partial derivatives
         c_fake (w.r.t. z_fake) and c_ng (w.r.t. z_fake_ng):

             dL/dE = J_E(x_real)^T c_real + J_E(G(z))^T (c_fake + c_ng)
             dL/dG = J_G^T J_x(G(z))^T c_fake

         Two vector-Jacobian products from the one forward give both; the
         unused halves of each backward pass are pruned from the traced
         graph (under jit, XLA drops them on JAX). BN moving statistics get
         the author's two updates from the fake batch
         (batchnorm.SquaredMomentum). Written once per backend: a gradient
         tape on TensorFlow, jax.vjp on JAX (whose Keras trainer is
         stateless).

``train_step`` at the bottom picks the step for the model's kind and the
backend Keras runs on. Keras' private names stay in keras_private.py.
"""

import keras
from keras import ops

from . import augment, losses
from .keras_private import loss_tracker, update_metrics_variables
from .replicas import is_multi_worker, replica_position, wait_for_replicas

FUSED_BACKENDS = ("tensorflow", "jax")  # the backends the fused step is written for


def _unscaled(loss):
    return loss


# 2-4. generate, augment, score: the images E sees, the plain graph, the fused one ------
def seen_by_encoder(model, images):
    """images as E sees them in training: through the model's DiffAugment
    transforms (one draw per image) where it has them, else unchanged."""
    if not model.augment:
        return images
    return augment.augment(images, model.augment, model.seed_generator, model.augment_p)


def author_graph(model, x_real, z, training=False):
    """The plain step's forward (OGAN.call): G(z), its stop-gradient copy and
    three E calls, as losses.loss_inputs hands them to the loss.

    G and E compute in their dtype policy; what the loss sees is float32 (a
    no-op under the default policy).
    """
    G, E = model.generator, model.encoder
    x_fake = seen_by_encoder(model, G(z, training=training))  # 2 generate, 3 augment
    x_real = seen_by_encoder(model, x_real)
    x_fake_ng = ops.stop_gradient(x_fake)
    return losses.loss_inputs(  # 4 score
        z, x_real, x_fake_ng,
        z_real=E(x_real, training=training),
        z_fake=E(x_fake, training=training),
        z_fake_ng=E(x_fake_ng, training=training))


def fused_scores(model, x_real, z):
    """The fused step's forward: (x_real, x_fake, e_real, e_fake), the images
    as E saw them and its codes, with E run once on the generated batch (its
    BN momentum squared: the author's two updates)."""
    G, E = model.generator, model.encoder
    x_fake = seen_by_encoder(model, G(z, training=True))  # 2 generate, 3 augment
    x_real = seen_by_encoder(model, x_real)
    e_real = E(x_real, training=True)  # 4 score
    wait_for_replicas()
    with model.encoder_momentum_squared():
        e_fake = E(x_fake, training=True)
    return x_real, x_fake, e_real, e_fake


# 5. losses ---------------------------------------------------------------------------
def one_loss(model, y_pred):
    """OGAN.compute_loss: the model's GAN loss on the graph's outputs, its t1
    and z_corr into their metrics.

    tf.distribute SUMS the replicas' gradients, and each replica's loss is
    the mean over its own B/R rows: dividing by R makes the sum the gradient
    of the global batch's mean (Keras' train step multiplies the logged loss
    back). Keras does this for compiled losses only.
    """
    loss, terms = losses.GAN_LOSSES[model.gan_loss](
        **y_pred, rho_weight=model.rho_weight, qp_weight=model.qp_weight,
        encoder_term=model.encoder_term)
    model.t1_tracker.update_state(terms["t1"])
    model.z_corr_tracker.update_state(terms["z_corr"])
    replicas, _ = replica_position()
    return loss / replicas if replicas > 1 else loss


# 6-7. gradients and apply: the fused step on TensorFlow ------------------------------
def tf_fused_gradients(model, x_real, z, scale_loss=_unscaled):
    """(loss, y_pred, grads) under a tf.GradientTape; grads aligned with
    model.trainable_variables, of scale_loss(loss)."""
    import tensorflow as tf

    G, E = model.generator, model.encoder
    with tf.GradientTape(persistent=True) as tape:
        x_seen, x_fake, e_real, e_fake = fused_scores(model, x_real, z)
        e_fake_ng = tf.stop_gradient(e_fake)  # the third call's value, E-only
        tape.watch(e_fake_ng)
        y_pred = losses.loss_inputs(z, x_seen, tf.stop_gradient(x_fake), e_real, e_fake,
                                    e_fake_ng)
        loss = model.compute_loss(y_pred=y_pred)  # 5 losses
        scaled = scale_loss(loss)
    # 6 gradients: L's cotangents, then E's and G's pullbacks of the one forward
    c_real, c_fake, c_ng = tape.gradient(scaled, [e_real, e_fake, e_fake_ng])
    e_vars, g_vars = E.trainable_variables, G.trainable_variables
    e_grads = tape.gradient([e_real, e_fake], e_vars, output_gradients=[c_real, c_fake + c_ng])
    g_grads = tape.gradient(e_fake, g_vars, output_gradients=c_fake)
    del tape
    by_id = {id(v): g for v, g in zip(e_vars + g_vars, e_grads + g_grads)}
    grads = [by_id.get(id(v)) if by_id.get(id(v)) is not None else tf.zeros_like(v)
             for v in model.trainable_variables]
    return loss, y_pred, grads


def tf_fused_step(model, data):
    """The fused step on TensorFlow, as Keras' own step on that backend: the
    logs of one step."""
    x_real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    z = model.draw_z(ops.shape(x_real)[0])  # 1 sample z
    loss, y_pred, grads = tf_fused_gradients(model, x_real, z, model.optimizer.scale_loss)
    # Keras' own "loss" metric, updated as its train step does (the
    # per-replica loss unscaled, see one_loss).
    replicas, _ = replica_position()
    loss_tracker(model).update_state(loss * replicas, sample_weight=ops.shape(x_real)[0])
    model.optimizer.apply_gradients(zip(grads, model.trainable_variables))  # 7 apply
    return model.compute_metrics(x_real, None, y_pred, sample_weight=None)


# 6-7. gradients and apply: the fused step on JAX -----------------------------------------
def jax_stateless_fused_gradients(model, trainable, non_trainable, metrics, x_real, z,
                                  scale_loss):
    """The fused gradients as a pure function of the variables' values (lists
    aligned with model.trainable_variables, non_trainable_variables and
    metrics_variables), for Keras' stateless JAX train step.

    One forward (fused_scores) under jax.vjp; the loss's cotangents c_real,
    c_fake, c_ng; then two pullbacks of that one forward: (c_real, c_fake +
    c_ng) for E's weights, (0, c_fake) for G's.

    Returns (unscaled loss, scaled loss, y_pred, grads, non_trainable,
    metrics): grads of the scaled loss, the new non-trainable values (BN
    moving statistics) and metric values (t1, z_corr).
    """
    import jax

    variables, states = model.trainable_variables, model.non_trainable_variables

    def forward(trainable):
        mapping = list(zip(variables, trainable)) + list(zip(states, non_trainable))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            x_seen, x_fake, e_real, e_fake = fused_scores(model, x_real, z)
        updated = [scope.get_current_value(v) for v in states]
        return (e_real, e_fake), (ops.stop_gradient(x_fake), updated, x_seen)

    (e_real, e_fake), pullback, (x_fake_ng, new_states, x_seen) = jax.vjp(
        forward, list(trainable), has_aux=True)

    def loss_of(e_real, e_fake, e_fake_ng):  # 5 losses
        y_pred = losses.loss_inputs(z, x_seen, x_fake_ng, e_real, e_fake, e_fake_ng)
        loss, (_, _, new_metrics) = model.stateless_compute_loss(
            trainable, new_states, metrics, x=x_real, y_pred=y_pred, training=True)
        return scale_loss(loss), (loss, y_pred, new_metrics)

    # 6 gradients: L's cotangents, then E's and G's pullbacks of the one forward
    scaled, loss_pullback, (loss, y_pred, new_metrics) = jax.vjp(
        loss_of, e_real, e_fake, e_fake, has_aux=True)
    c_real, c_fake, c_ng = loss_pullback(ops.ones_like(scaled))
    e_grads = pullback((c_real, c_fake + c_ng))[0]
    g_grads = pullback((ops.zeros_like(c_real), c_fake))[0]
    e_ids = {id(v) for v in model.encoder.trainable_variables}
    grads = [e if id(v) in e_ids else g for v, e, g in zip(variables, e_grads, g_grads)]
    return loss, scaled, y_pred, grads, new_states, new_metrics


def jax_fused_step(model, state, data):
    """The fused step on JAX, mirroring Keras' own (keras/src/backend/jax/
    trainer.py): stateless, on the state tuples; (logs, new state)."""
    trainable, non_trainable, optimizer_vars, metrics = state
    x_real, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    mapping = list(zip(model.non_trainable_variables, non_trainable))
    with keras.StatelessScope(state_mapping=mapping) as scope:
        z = model.draw_z(ops.shape(x_real)[0])  # 1 sample z
    non_trainable = [scope.get_current_value(v) for v in model.non_trainable_variables]

    def scale_loss(loss):
        # As Keras: scale in a scope that reads the optimizer's state.
        mapping = list(zip(model.optimizer.variables, optimizer_vars))
        with keras.StatelessScope(state_mapping=mapping):
            return model.optimizer.scale_loss(loss)

    loss, _, y_pred, grads, non_trainable, metrics = jax_stateless_fused_gradients(
        model, trainable, non_trainable, metrics, x_real, z, scale_loss)
    trainable, optimizer_vars = model.optimizer.stateless_apply(  # 7 apply
        optimizer_vars, grads, trainable)
    logs, metrics = update_metrics_variables(model, metrics, loss, x_real, y, y_pred,
                                             sample_weight)
    return logs, (trainable, non_trainable, optimizer_vars, metrics)


def jax_fused_gradients(model, x_real, z, scale_loss=_unscaled):
    """(loss, y_pred, grads) on JAX outside fit: the stateless gradients under
    jit, the BN and metric updates assigned to the variables (as TensorFlow's
    eager calls do)."""
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


def fused_gradients(model, x_real, z):
    """(loss, y_pred, grads) of the fused step on a batch and its z, outside
    fit (the tests compare them with the plain step's)."""
    if keras.backend.backend() == "tensorflow":
        return tf_fused_gradients(model, x_real, z)
    return jax_fused_gradients(model, x_real, z)


# The step that runs ----------------------------------------------------------------------
def train_step(model, keras_step, *args):
    """OGAN.train_step: the fused step where the model has it, else Keras'
    own (keras_step, the plain step), on the backend Keras runs on. args as
    Keras' trainer passes them: (data) on TensorFlow, (state, data) on JAX."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        logs = tf_fused_step(model, *args) if model.fused_step else keras_step(*args)
        return _multi_worker_logs(logs)
    if backend == "jax" and model.fused_step:
        return jax_fused_step(model, *args)
    return keras_step(*args)


def _multi_worker_logs(logs):
    """Keras 3's TF trainer reduces a step's metrics across the workers of a
    MultiWorkerMirroredStrategy with reduce(MEAN, axis=0), which fails on
    scalars (tensorflow/tensorflow#72388). The values are already equal on
    every replica (metric variables sum across replicas), so one-element
    vectors reduce to the same numbers."""
    if not is_multi_worker():
        return logs
    return {k: ops.reshape(v, (1,)) for k, v in logs.items()}
