"""OGAN: G and E joined by the author's stop-gradient graph and ONE loss.

Training is Keras' own ``fit``: its train step (a tf.function on the
TensorFlow backend) calls ``call`` under a gradient tape, ``compute_loss``
returns the single loss, and one optimizer steps G and E together. The
stop-gradients route each term to the right player (see losses.ogan_qp_loss).
"""

import keras
from keras import ops

from . import losses


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
        # State: z is drawn in the step from this generator, whose state
        # is a model variable (saved with the checkpoint, so resume goes on).
        self.seed_generator = keras.random.SeedGenerator(seed, name="z_seed")
        self.t1_tracker = keras.metrics.Mean(name="t1")
        self.z_corr_tracker = keras.metrics.Mean(name="z_corr")
        # G and E are built functional models; OGAN adds no weights of its own.
        self.built = True

    def combined(self, x_real, z, training=False):
        """The author's graph: G(z), its stop-gradient copy, three E calls."""
        x_fake = self.generator(z, training=training)
        x_fake_ng = ops.stop_gradient(x_fake)
        return {
            "z": z,
            "x_real": x_real,
            "x_fake_ng": x_fake_ng,
            "z_real": self.encoder(x_real, training=training),
            "z_fake": self.encoder(x_fake, training=training),
            "z_fake_ng": self.encoder(x_fake_ng, training=training),
        }

    def call(self, x_real, training=False):
        z = keras.random.normal(
            (ops.shape(x_real)[0], self.z_dim), seed=self.seed_generator
        )
        return self.combined(x_real, z, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss, terms = losses.GAN_LOSSES[self.gan_loss](
            **y_pred, rho_weight=self.rho_weight, qp_weight=self.qp_weight,
            encoder_term=self.encoder_term,
        )
        self.t1_tracker.update_state(terms["t1"])
        self.z_corr_tracker.update_state(terms["z_corr"])
        return loss

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


def make_optimizer(learning_rate=1e-4, rho=0.99):
    """The author's optimizer: one RMSprop over G and E together."""
    return keras.optimizers.RMSprop(learning_rate=learning_rate, rho=rho)
