"""OGAN: G and E joined by the author's stop-gradient graph and ONE loss.

Training is Keras' own ``fit``: its train step (a tf.function on the
TensorFlow backend) calls ``call`` under a gradient tape, ``compute_loss``
returns the single loss, and one optimizer steps G and E together. The
stop-gradients route each term to the right player (see losses.ogan_qp_loss).

Speed options (benchmarks/README.md): under a mixed dtype policy G and E compute
in bfloat16/float16 while everything the loss sees is cast to float32; with
``fused_step`` (TensorFlow and JAX backends) the train step runs E once on
G(z) instead of twice and routes the gradients itself (``fused_gradients``).
"""

import contextlib
import threading

import keras
from keras import ops

from . import augment, losses


def _float32(x):
    return ops.cast(x, "float32")


def replica_position():
    """(replicas in sync, this replica's index) under tf.distribute; (1, 0)
    on one device and on other backends (JAX's data-parallel trainer runs one
    program over the global batch: nothing to split by hand there)."""
    if keras.backend.backend() != "tensorflow":
        return 1, 0
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return 1, 0
    return context.num_replicas_in_sync, context.replica_id_in_sync_group


def is_multi_worker():
    """True inside a tf.distribute strategy that spans several processes."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return tf.distribute.has_strategy() and isinstance(
        tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy
    )


def batchnorm_layers(model):
    return [la for la in model.layers if isinstance(la, keras.layers.BatchNormalization)]


def set_synchronized_batchnorm(models, on):
    """BN in `models` normalises with the statistics of the global batch (all
    replicas) when `on`, else of each replica's own rows. TensorFlow only:
    Keras reads the flag when it traces the step; on JAX the data-parallel
    program's statistics are always those of the global batch."""
    if keras.backend.backend() != "tensorflow":
        return
    for model in models:
        for bn in batchnorm_layers(model):
            bn.synchronized = bool(on)


@contextlib.contextmanager
def unsynchronized_batchnorm(models):
    """Saved files never say synchronized=True (JAX refuses to load that):
    it is a run setting (Config.sync_batchnorm), applied after loading."""
    bns = [bn for model in models for bn in batchnorm_layers(model)]
    saved = [bn.synchronized for bn in bns]
    for bn in bns:
        bn.synchronized = False
    try:
        yield
    finally:
        for bn, value in zip(bns, saved):
            bn.synchronized = value


_SQUARED = {}  # id(BN layer) -> [depth, its own momentum] while squared
_SQUARED_LOCK = threading.Lock()


@contextlib.contextmanager
def _bn_momentum_squared(model):
    """BN layers of `model` use momentum**2 for the calls made inside.

    One update with m**2 equals the two updates with m that the author's
    graph makes from the same batch statistics (E on G(z) and on its
    stop-gradient copy): m(m v + (1-m) s) + (1-m) s = m**2 v + (1-m**2) s.
    Keras reads the momentum when the step is traced, so this is exact.
    Re-entrant: MirroredStrategy traces its replicas in threads that take
    turns at every collective, so several may be inside at once (see
    _replicas_in_step); the momentum comes back when the last one leaves.
    """
    bns = batchnorm_layers(model)
    with _SQUARED_LOCK:
        for bn in bns:
            entry = _SQUARED.setdefault(id(bn), [0, bn.momentum])
            entry[0] += 1
            bn.momentum = entry[1] ** 2
    try:
        yield
    finally:
        with _SQUARED_LOCK:
            for bn in bns:
                entry = _SQUARED[id(bn)]
                entry[0] -= 1
                if entry[0] == 0:
                    bn.momentum = entry[1]
                    del _SQUARED[id(bn)]


def _replicas_in_step():
    """Under MirroredStrategy, wait here (while tracing) until every replica
    thread has arrived: so none is still in an earlier BN call when another
    squares the momentum. Adds nothing to the traced graph."""
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        context.merge_call(lambda strategy: None)


@keras.saving.register_keras_serializable(package="ogan_tf")
class OGAN(keras.Model):
    """The combined training model.

    Args:
        generator: functional G, (B, z_dim) -> (B, H, W, 3).
        encoder: functional E, (B, H, W, 3) -> (B, z_dim).
        rho_weight: lambda_2, weight of the correlation term.
        qp_weight: factor of the GAN-QP term (0.25 as the author).
        seed: seed of the SeedGenerator that draws z inside the step.
        gan_loss: a key of losses.GAN_LOSSES ("qp", the author's; "hinge"; "ns").
        encoder_term: "rho" (the author's) or "mse" (losses.encoder_penalty).
    """

    def __init__(self, generator, encoder, rho_weight=0.5, qp_weight=0.25, seed=None,
                 gan_loss="qp", encoder_term="rho", **kwargs):
        super().__init__(**kwargs)
        # Layers
        self.generator = generator
        self.encoder = encoder
        # Config
        self.z_dim = int(generator.input_shape[-1])
        self.rho_weight = float(rho_weight)
        self.qp_weight = float(qp_weight)
        self.seed = seed
        if gan_loss not in losses.GAN_LOSSES or encoder_term not in losses.ENCODER_TERMS:
            raise ValueError(f"unknown gan_loss {gan_loss!r} or encoder_term {encoder_term!r}")
        self.gan_loss = gan_loss
        self.encoder_term = encoder_term
        # State: z is drawn in the step from this generator; its state is
        # saved with the model (save_own_variables), so a resumed run goes on.
        self.seed_generator = keras.random.SeedGenerator(seed, name="z_seed")
        self.t1_tracker = keras.metrics.Mean(name="t1")
        self.z_corr_tracker = keras.metrics.Mean(name="z_corr")
        # Set by the trainer (train.training.build_model), not saved: a speed choice.
        self.fused_step = False
        # Set by the trainer, not saved: DiffAugment's transforms of every
        # image E sees (core/augment.py); () is the author's.
        self.augment = ()
        # G and E are built functional models; OGAN adds no weights of its own.
        self.built = True

    def combined(self, x_real, z, training=False):
        """The author's graph: G(z), its stop-gradient copy, three E calls.

        G and E compute in their dtype policy; the returned tensors, all the
        loss sees, are float32 (a no-op under the default policy).
        """
        x_fake = self.seen_by_encoder(self.generator(z, training=training))
        x_real = self.seen_by_encoder(x_real)
        x_fake_ng = ops.stop_gradient(x_fake)
        return {
            "z": z,
            "x_real": x_real,
            "x_fake_ng": _float32(x_fake_ng),
            "z_real": _float32(self.encoder(x_real, training=training)),
            "z_fake": _float32(self.encoder(x_fake, training=training)),
            "z_fake_ng": _float32(self.encoder(x_fake_ng, training=training)),
        }

    def seen_by_encoder(self, images):
        """images as E sees them in training: augmented where self.augment
        names transforms (one draw per image), else unchanged."""
        if not self.augment:
            return images
        return augment.augment(images, self.augment, self.seed_generator)

    def draw_z(self, batch_size):
        """z for `batch_size` rows. Under tf.distribute each replica draws the
        z of the whole global batch from the same seed state (its copy of the
        state moves in step with the others) and keeps its own rows: replicas
        get different z, and the run draws the z one device would."""
        replicas, index = replica_position()
        if replicas == 1:
            return keras.random.normal((batch_size, self.z_dim), seed=self.seed_generator)
        z = keras.random.normal((batch_size * replicas, self.z_dim), seed=self.seed_generator)
        return ops.slice(z, (index * batch_size, 0), (batch_size, self.z_dim))

    def call(self, x_real, training=False):
        return self.combined(x_real, self.draw_z(ops.shape(x_real)[0]), training=training)

    def fused_gradients(self, x_real, z, scale_loss=lambda loss: loss):
        """The author's loss and its gradients with ONE E pass on G(z).

        TensorFlow (tf.GradientTape) and JAX (jax.vjp, see
        _stateless_fused_gradients; here the BN and metric updates are
        assigned to the variables, as TF's eager calls do). In the author's graph
        E(G(z)) and E(stop_gradient(G(z))) are the same function of E's
        weights at the same point (BN uses each call's own batch
        statistics), so with L's partial derivatives c_fake (w.r.t. z_fake)
        and c_ng (w.r.t. z_fake_ng):
            dL/dE = J_E(x_real)^T c_real + J_E(G(z))^T (c_fake + c_ng)
            dL/dG = J_G^T J_x(G(z))^T c_fake
        Two vector-Jacobian products from the one forward give both; the
        unused halves of each backward pass (filter gradients in the second,
        the input gradient of E's first layer in the first) are pruned from
        the traced graph. BN moving statistics get the author's two updates
        from the fake batch (see _bn_momentum_squared).

        Returns (loss, y_pred, grads): grads is aligned with
        self.trainable_variables; y_pred is what the author's graph returns.
        scale_loss: applied before differentiating (loss scaling).
        """
        if keras.backend.backend() == "jax":
            import jax

            # jit: one compiled program instead of op-by-op dispatch.
            fused = jax.jit(lambda *values: self._stateless_fused_gradients(*values, scale_loss))
            loss, _, y_pred, grads, non_trainable, metrics = fused(
                [v.value for v in self.trainable_variables],
                [v.value for v in self.non_trainable_variables],
                [v.value for v in self.metrics_variables],
                x_real, z,
            )
            for v, value in zip(self.non_trainable_variables + self.metrics_variables,
                                non_trainable + metrics):
                v.assign(value)
            return loss, y_pred, grads
        import tensorflow as tf

        G, E = self.generator, self.encoder
        with tf.GradientTape(persistent=True) as tape:
            x_fake = self.seen_by_encoder(G(z, training=True))
            x_real = self.seen_by_encoder(x_real)
            e_real = E(x_real, training=True)
            _replicas_in_step()
            with _bn_momentum_squared(E):
                e_fake = E(x_fake, training=True)
            e_fake_ng = tf.stop_gradient(e_fake)  # the third call's value, E-only
            tape.watch(e_fake_ng)
            y_pred = {
                "z": z,
                "x_real": x_real,
                "x_fake_ng": _float32(tf.stop_gradient(x_fake)),
                "z_real": _float32(e_real),
                "z_fake": _float32(e_fake),
                "z_fake_ng": _float32(e_fake_ng),
            }
            loss = self.compute_loss(y_pred=y_pred)
            scaled = scale_loss(loss)
        c_real, c_fake, c_ng = tape.gradient(scaled, [e_real, e_fake, e_fake_ng])
        e_vars, g_vars = E.trainable_variables, G.trainable_variables
        e_grads = tape.gradient(
            [e_real, e_fake], e_vars, output_gradients=[c_real, c_fake + c_ng]
        )
        g_grads = tape.gradient(e_fake, g_vars, output_gradients=c_fake)
        del tape
        by_id = {id(v): g for v, g in zip(e_vars + g_vars, e_grads + g_grads)}
        grads = [
            by_id.get(id(v)) if by_id.get(id(v)) is not None else tf.zeros_like(v)
            for v in self.trainable_variables
        ]
        return loss, y_pred, grads

    def _stateless_fused_gradients(self, trainable, non_trainable, metrics, x_real, z,
                                   scale_loss):
        """JAX: fused_gradients as a pure function of the variables' values
        (lists aligned with self.trainable_variables, non_trainable_variables
        and metrics_variables), for Keras' stateless JAX train step.

        One forward (G on z, E on x_real and on G(z), the latter with BN
        momentum squared) under jax.vjp; the loss's cotangents c_real, c_fake,
        c_ng w.r.t. E(x_real), E(G(z)) and its stop-gradient copy; then two
        pullbacks of that one forward: (c_real, c_fake + c_ng) for E's weights,
        (0, c_fake) for G's. Under jit XLA drops the half of each backward pass
        that is not kept (as TF's traced graph does).

        Returns (unscaled loss, scaled loss, y_pred, grads, non_trainable,
        metrics): grads of the scaled loss, the new non-trainable values (BN
        moving statistics) and metric values (t1, z_corr).
        """
        import jax

        G, E = self.generator, self.encoder
        variables, states = self.trainable_variables, self.non_trainable_variables

        def forward(trainable):
            mapping = list(zip(variables, trainable)) + list(zip(states, non_trainable))
            with keras.StatelessScope(state_mapping=mapping) as scope:
                x_fake = self.seen_by_encoder(G(z, training=True))
                x_seen = self.seen_by_encoder(x_real)
                e_real = E(x_seen, training=True)
                with _bn_momentum_squared(E):
                    e_fake = E(x_fake, training=True)
            updated = [scope.get_current_value(v) for v in states]
            return (e_real, e_fake), (ops.stop_gradient(x_fake), updated, x_seen)

        (e_real, e_fake), pullback, (x_fake_ng, new_states, x_seen) = jax.vjp(
            forward, list(trainable), has_aux=True
        )

        def loss_of(e_real, e_fake, e_fake_ng):
            y_pred = {
                "z": z,
                "x_real": x_seen,
                "x_fake_ng": _float32(x_fake_ng),
                "z_real": _float32(e_real),
                "z_fake": _float32(e_fake),
                "z_fake_ng": _float32(e_fake_ng),
            }
            loss, (_, _, new_metrics) = self.stateless_compute_loss(
                trainable, new_states, metrics, x=x_real, y_pred=y_pred, training=True
            )
            return scale_loss(loss), (loss, y_pred, new_metrics)

        scaled, loss_pullback, (loss, y_pred, new_metrics) = jax.vjp(
            loss_of, e_real, e_fake, e_fake, has_aux=True
        )
        c_real, c_fake, c_ng = loss_pullback(ops.ones_like(scaled))
        e_grads = pullback((c_real, c_fake + c_ng))[0]
        g_grads = pullback((ops.zeros_like(c_real), c_fake))[0]
        e_ids = {id(v) for v in E.trainable_variables}
        grads = [e if id(v) in e_ids else g for v, e, g in zip(variables, e_grads, g_grads)]
        return loss, scaled, y_pred, grads, new_states, new_metrics

    if keras.backend.backend() == "tensorflow":
        # The fused step overrides Keras' TF train step (and its JAX one,
        # below); other backends keep Keras' own (train.training.build_model refuses
        # fused_step there).
        def train_step(self, data):
            logs = self._fused_train_step(data) if self.fused_step else super().train_step(data)
            if is_multi_worker():
                # Keras 3's TF trainer reduces a step's metrics across the
                # workers of a MultiWorkerMirroredStrategy with
                # reduce(MEAN, axis=0), which fails on scalars
                # (tensorflow/tensorflow#72388). The values are already equal
                # on every replica (metric variables sum across replicas), so
                # one-element vectors reduce to the same numbers.
                logs = {k: ops.reshape(v, (1,)) for k, v in logs.items()}
            return logs

        def _fused_train_step(self, data):
            x_real, _, _ = keras.utils.unpack_x_y_sample_weight(data)
            z = self.draw_z(ops.shape(x_real)[0])
            loss, y_pred, grads = self.fused_gradients(x_real, z, self.optimizer.scale_loss)
            # Keras' own "loss" metric, updated as its train step does (the
            # per-replica loss unscaled, see compute_loss).
            replicas, _ = replica_position()
            self._loss_tracker.update_state(loss * replicas, sample_weight=ops.shape(x_real)[0])
            self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
            return self.compute_metrics(x_real, None, y_pred, sample_weight=None)

    elif keras.backend.backend() == "jax":
        # The fused step overrides Keras' JAX train step, mirroring it
        # (keras/src/backend/jax/trainer.py): stateless, on the state tuples.
        def train_step(self, state, data):
            if not self.fused_step:
                return super().train_step(state, data)
            trainable, non_trainable, optimizer_vars, metrics = state
            x_real, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
            mapping = list(zip(self.non_trainable_variables, non_trainable))
            with keras.StatelessScope(state_mapping=mapping) as scope:
                z = self.draw_z(ops.shape(x_real)[0])
            non_trainable = [scope.get_current_value(v) for v in self.non_trainable_variables]

            def scale_loss(loss):
                # As Keras: scale in a scope that reads the optimizer's state.
                mapping = list(zip(self.optimizer.variables, optimizer_vars))
                with keras.StatelessScope(state_mapping=mapping):
                    return self.optimizer.scale_loss(loss)

            loss, _, y_pred, grads, non_trainable, metrics = self._stateless_fused_gradients(
                trainable, non_trainable, metrics, x_real, z, scale_loss
            )
            trainable, optimizer_vars = self.optimizer.stateless_apply(
                optimizer_vars, grads, trainable
            )
            logs, metrics = self._update_metrics_variables(
                metrics, loss, x_real, y, y_pred, sample_weight
            )
            return logs, (trainable, non_trainable, optimizer_vars, metrics)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss, terms = losses.GAN_LOSSES[self.gan_loss](
            **y_pred, rho_weight=self.rho_weight, qp_weight=self.qp_weight,
            encoder_term=self.encoder_term,
        )
        self.t1_tracker.update_state(terms["t1"])
        self.z_corr_tracker.update_state(terms["z_corr"])
        # tf.distribute SUMS the replicas' gradients, and each replica's loss
        # is the mean over its own B/R rows: dividing by R makes the sum the
        # gradient of the global batch's mean (Keras' train step multiplies
        # the logged loss back). Keras does this for compiled losses only.
        replicas, _ = replica_position()
        return loss / replicas if replicas > 1 else loss

    # Keras saves no SeedGenerator state: without this entry a resumed run
    # would draw again the z of steps 1, 2, ... (files from before it load so).
    Z_STATE_KEY = "z_seed_state"

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[self.Z_STATE_KEY] = ops.convert_to_numpy(self.seed_generator.state.value)

    def load_own_variables(self, store):
        keys = list(store.keys())
        if self.Z_STATE_KEY in keys:
            self.seed_generator.state.assign(ops.convert_to_numpy(store[self.Z_STATE_KEY]))
        super().load_own_variables({k: store[k] for k in keys if k != self.Z_STATE_KEY})

    def get_config(self):
        return {
            **super().get_config(),
            "generator": keras.saving.serialize_keras_object(self.generator),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "rho_weight": self.rho_weight,
            "qp_weight": self.qp_weight,
            "seed": self.seed,
            "gan_loss": self.gan_loss,
            "encoder_term": self.encoder_term,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="ogan_tf")
class AuthorRMSprop(keras.optimizers.RMSprop):
    """RMSprop as Keras 2.2.4 computes it, the author's optimizer:

        v <- rho v + (1 - rho) g^2;   p <- p - lr g / (sqrt(v) + eps)

    Keras 3's RMSprop divides by sqrt(v + eps) instead. With eps = 1e-7 the
    two differ where the gradient's RMS is near or below sqrt(eps) = 3e-4
    (E's last layers early in training) and most in the first steps, while
    v is still small. No momentum, not centred (the author used neither).
    Written in keras.ops: the same on TensorFlow and JAX.
    """

    def __init__(self, learning_rate=1e-4, rho=0.99, epsilon=1e-7, **kwargs):
        if kwargs.get("momentum") or kwargs.get("centered"):
            raise ValueError("AuthorRMSprop has no momentum and is not centred")
        kwargs.pop("momentum", None)
        kwargs.pop("centered", None)
        super().__init__(learning_rate=learning_rate, rho=rho, epsilon=epsilon, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        velocity = self._velocities[self._get_variable_index(variable)]
        self.assign(velocity, ops.add(ops.multiply(self.rho, velocity),
                                      ops.multiply(1 - self.rho, ops.square(gradient))))
        step = ops.divide(ops.multiply(lr, gradient),
                          ops.add(ops.sqrt(velocity), self.epsilon))
        self.assign_sub(variable, step)


# Config.rmsprop_update -> the RMSprop class
RMSPROP_UPDATES = {"author": AuthorRMSprop, "keras3": keras.optimizers.RMSprop}


def make_optimizer(learning_rate=1e-4, rho=0.99, precision="float32", update="author"):
    """The author's optimizer: one RMSprop over G and E together.

    update: "author" (Keras 2.2.4's update, AuthorRMSprop) or "keras3"
    (keras.optimizers.RMSprop, eps inside the square root).
    Under mixed_float16 it is wrapped in Keras' LossScaleOptimizer (dynamic
    loss scaling), which float16 gradients need; bfloat16 has float32's range.
    """
    optimizer = RMSPROP_UPDATES[update](learning_rate=learning_rate, rho=rho)
    if precision == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def nonfinite_weights(model):
    """Paths of the model's and its optimizer's float variables that hold a
    NaN or an infinity ([] where all are finite): one reduction per variable
    and one device read for all, so it is cheap next to writing a file.
    Called before a checkpoint or grid is written, never per step."""
    if keras.backend.backend() == "jax" and hasattr(model, "jax_state_sync"):
        model.jax_state_sync()  # mid-epoch, JAX's fit keeps them outside the variables
    variables = list(model.weights)
    if getattr(model, "optimizer", None) is not None:
        variables += list(model.optimizer.variables)
    variables = [v for v in variables if "float" in str(v.dtype)]
    if not variables:
        return []
    finite = ops.convert_to_numpy(ops.stack([ops.all(ops.isfinite(v)) for v in variables]))
    return [v.path for v, ok in zip(variables, finite) if not ok]
