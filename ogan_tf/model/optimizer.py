"""The author's optimizer: one RMSprop over G and E together, with Keras
2.2.4's update (AuthorRMSprop) or Keras 3's (Config.rmsprop_update)."""

import keras
from keras import ops

from ..config import RMSPROP_UPDATE_NAMES
from .keras_private import rmsprop_velocity


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
        velocity = rmsprop_velocity(self, variable)
        self.assign(velocity, ops.add(ops.multiply(self.rho, velocity),
                                      ops.multiply(1 - self.rho, ops.square(gradient))))
        step = ops.divide(ops.multiply(lr, gradient),
                          ops.add(ops.sqrt(velocity), self.epsilon))
        self.assign_sub(variable, step)


# Config.rmsprop_update (config.RMSPROP_UPDATE_NAMES, in its order) -> the RMSprop class
RMSPROP_UPDATES = dict(zip(RMSPROP_UPDATE_NAMES, (AuthorRMSprop, keras.optimizers.RMSprop),
                           strict=True))


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
