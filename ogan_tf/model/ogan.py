"""OGAN: G and E joined by the author's stop-gradient graph and ONE loss.

The model holds what a training step needs and saves it: G, E, the loss's
settings, the augmentation, and the SeedGenerator that draws z. What one
step does, phase by phase, plain and fused side by side, is model/step.py.

Training is Keras' own ``fit``: its train step (a tf.function on the
TensorFlow backend) calls ``call`` under a gradient tape, ``compute_loss``
returns the single loss, and one optimizer (model/optimizer.py) steps G and E
together; with ``fused_step`` the model's own step runs E once on G(z)
instead of twice and routes the gradients itself. Under a mixed dtype policy
G and E compute in bfloat16/float16 while everything the loss sees is cast
to float32 (benchmarks/README.md).
"""

import keras
from keras import ops

from . import augment as diffaugment
from . import losses, step
from . import optimizer  # noqa: F401  (registers AuthorRMSprop: a checkpoint holds it)
from .batchnorm import SquaredMomentum
from .replicas import replica_position


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
        augment: DiffAugment's transforms of every image E sees
            (model/augment.py), in order: Config.augment's text
            ("translation,cutout:0.25") or its entries; "none" or () is the
            author's.
        augment_p: the chance each transform reaches an image (ADA's p).
        fused_step: train with the fused step (model/step.py; TensorFlow and
            JAX): the plain step's numbers with one E pass on G(z) fewer.

    The config (get_config) holds all but fused_step, a speed choice a run
    makes anew when it loads a checkpoint (training/building.py); files
    saved without augment and augment_p load without augmentation.
    """

    def __init__(self, generator, encoder, rho_weight=0.5, qp_weight=0.25, seed=None,
                 gan_loss="qp", encoder_term="rho", augment=(), augment_p=1.0,
                 fused_step=False, **kwargs):
        super().__init__(**kwargs)
        # Layers
        self.generator = generator
        self.encoder = encoder
        # Config: the algorithm
        self.z_dim = int(generator.input_shape[-1])
        self.rho_weight = float(rho_weight)
        self.qp_weight = float(qp_weight)
        self.seed = seed
        self.gan_loss = gan_loss
        self.encoder_term = encoder_term
        self.set_augmentation(augment, augment_p)
        # The step kind: a speed choice, not saved.
        self.fused_step = bool(fused_step)
        if self.fused_step and keras.backend.backend() not in step.FUSED_BACKENDS:
            raise ValueError(f"the fused step is written for {' and '.join(step.FUSED_BACKENDS)}, "
                             f"not {keras.backend.backend()}")
        # State: z is drawn in the step from this generator; its state is
        # saved with the model (save_own_variables), so a resumed run goes on.
        self.seed_generator = keras.random.SeedGenerator(seed, name="z_seed")
        self.t1_tracker = keras.metrics.Mean(name="t1")
        self.z_corr_tracker = keras.metrics.Mean(name="z_corr")
        # The fused step's one E call on G(z) makes both of the author's BN updates.
        self.encoder_momentum_squared = SquaredMomentum(encoder)
        # G and E are built functional models; OGAN adds no weights of its own.
        self.built = True

    def set_augmentation(self, augment, augment_p):
        """DiffAugment's transforms (Config.augment's text or its entries)
        and their chance: set when the model is made, and again when a run
        resumes with other values (training/building.py)."""
        augment = diffaugment.parse(augment) if isinstance(augment, str) else tuple(augment)
        unknown = [entry for entry in augment
                   if entry.partition(":")[0] not in diffaugment.AUGMENTS]
        if (self.gan_loss not in losses.GAN_LOSSES
                or self.encoder_term not in losses.ENCODER_TERMS or unknown):
            raise ValueError(f"unknown gan_loss {self.gan_loss!r}, encoder_term "
                             f"{self.encoder_term!r} or augment {augment!r}")
        self.augment, self.augment_p = augment, float(augment_p)

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
        """The plain step's forward: the author's graph (step.author_graph) on a fresh z."""
        return step.author_graph(self, x_real, self.draw_z(ops.shape(x_real)[0]), training)

    def train_step(self, *args):
        # Keras' TF trainer passes (data), its JAX trainer (state, data).
        return step.train_step(self, super().train_step, *args)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return step.one_loss(self, y_pred)

    # Keras saves no SeedGenerator state: without this entry a resumed run
    # would draw again the z of steps 1, 2, ... (files without it start from the seed).
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
            "augment": list(self.augment),
            "augment_p": self.augment_p,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        return cls(**config)
