"""OGAN: G and E joined by the author's stop-gradient graph and ONE loss.

Training is Keras' own ``fit``: its train step (a tf.function on the
TensorFlow backend) calls ``call`` under a gradient tape, ``compute_loss``
returns the single loss, and one optimizer (model/optimizer.py) steps G and E
together. The stop-gradients route each term to the right player (see
losses.ogan_qp_loss).

Speed options (benchmarks/README.md): under a mixed dtype policy G and E
compute in bfloat16/float16 while everything the loss sees is cast to
float32; with ``fused_step`` the train step runs E once on G(z) instead of
twice and routes the gradients itself (model/fused.py).
"""

import keras
from keras import ops

from . import augment, fused, losses
from . import optimizer  # noqa: F401  (registers AuthorRMSprop: a checkpoint holds it)
from .batchnorm import SquaredMomentum
from .replicas import replica_position

# OGAN.train_step's body on this backend (model/fused.py): Keras' own step or
# the fused one.
_TRAIN_STEP = fused.train_step_for(keras.backend.backend())


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
        # image E sees (model/augment.py); () is the author's.
        self.augment = ()
        self.augment_p = 1.0  # the chance each transform reaches an image
        # The fused step's one E call on G(z) makes both of the author's BN updates.
        self.encoder_momentum_squared = SquaredMomentum(encoder)
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
        return losses.loss_inputs(
            z, x_real, x_fake_ng,
            z_real=self.encoder(x_real, training=training),
            z_fake=self.encoder(x_fake, training=training),
            z_fake_ng=self.encoder(x_fake_ng, training=training))

    def seen_by_encoder(self, images):
        """images as E sees them in training: augmented where self.augment
        names transforms (one draw per image), else unchanged."""
        if not self.augment:
            return images
        return augment.augment(images, self.augment, self.seed_generator, self.augment_p)

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

    def train_step(self, *args):
        # Keras' TF trainer passes (data), its JAX trainer (state, data).
        return _TRAIN_STEP(self, super().train_step, *args)

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
