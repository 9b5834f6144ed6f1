"""The author's generator G and encoder/discriminator E, built-in layers only.

Built from built-in Keras layers so that a saved ``.keras`` file loads with
plain ``keras.models.load_model`` (no custom objects, safe mode on).

Geometry (the author's scripts, for resolution ``img``):
  num_layers = log2(img) - 3, widest layer = img * 8 channels (``channels``
  overrides it), first/last feature map 4x4.
  E: num_layers + 1 stride-2 convs, channels doubling up to the widest, BN on
     all but the first, LeakyReLU(0.2), Flatten, Dense(z_dim). ``norm``
     replaces the BN (config.ENCODER_NORMS; "batch" is the author's).
  G: Dense to 4x4xwidest, BN, ReLU, num_layers stride-2 transposed convs
     halving channels with BN + ReLU, a last one to 3 channels, tanh.
Kernels are initialised N(0, 0.02) as the author's.
"""

import math

import keras
from keras import layers

from ..config import ENCODER_NORMS, VARIANTS, check_geometry
from ..config_checks import one_of


def _geometry(resolution, channels):
    num_layers = int(math.log2(resolution)) - 3
    widest = channels or resolution * 8
    return num_layers, widest


def _init():
    return keras.initializers.RandomNormal(0.0, 0.02)


def _encoder_norm(x, norm, name):
    """E's normalisation of a convolution's output (all but the first)."""
    if norm == "batch":  # the author's
        return layers.BatchNormalization(name=f"bn{name}")(x)
    if norm == "layer":  # each image's own statistics over (H, W, C), per-channel affine
        return layers.GroupNormalization(groups=1, name=f"ln{name}")(x)
    return x  # "none", "spectral" (the weights are normalised instead)


def build_encoder(resolution, z_dim, variant="dcgan_5x5", channels=None, norm="batch"):
    """E: (B, res, res, 3) in [-1, 1] -> (B, z_dim). avg(E(x)) is the critic.

    norm: "batch" (the author's BatchNorm), "none", "layer" or "spectral"
    (keras.layers.SpectralNormalization around every convolution and the
    code layer, no activation normalisation).
    """
    check_geometry(resolution, z_dim, variant, channels)
    one_of(*ENCODER_NORMS)("norm", norm)
    kernel, _ = VARIANTS[variant]
    num_layers, widest = _geometry(resolution, channels)

    def weights(layer):
        if norm == "spectral":
            return layers.SpectralNormalization(layer, name=f"sn_{layer.name}")
        return layer

    x_in = keras.Input((resolution, resolution, 3), name="image")
    x = x_in
    for i in range(num_layers + 1):
        x = weights(layers.Conv2D(
            widest // 2 ** (num_layers - i),
            kernel,
            strides=2,
            padding="same",
            kernel_initializer=_init(),
            name=f"conv{i}",
        ))(x)
        if i > 0:
            x = _encoder_norm(x, norm, i)
        x = layers.LeakyReLU(0.2, name=f"lrelu{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    # float32 under a mixed dtype policy too: codes leave E as float32.
    code = weights(layers.Dense(z_dim, kernel_initializer=_init(), dtype="float32",
                                name="code"))(x)
    return keras.Model(x_in, code, name="encoder")


def _self_modulated_bn(h, z, name):
    """BN without centre/scale, then h * (gamma(z) + 1) + beta(z).

    gamma and beta are Dense(z_dim, relu) -> Dense(channels) of the input z,
    as the author's SelfModulatedBatchNormalization. The author's "+ 1" is
    folded into the gamma head's bias (initialised to ones instead of zeros):
    the same function and the same gradients, with no custom layer.
    """
    dim = h.shape[-1]
    hidden = z.shape[-1]
    h = layers.BatchNormalization(center=False, scale=False, name=f"{name}_bn")(h)
    beta = layers.Dense(hidden, activation="relu", name=f"{name}_beta_hidden")(z)
    beta = layers.Dense(dim, name=f"{name}_beta")(beta)
    gamma = layers.Dense(hidden, activation="relu", name=f"{name}_gamma_hidden")(z)
    gamma = layers.Dense(dim, bias_initializer="ones", name=f"{name}_gamma")(gamma)
    if len(h.shape) == 4:
        beta = layers.Reshape((1, 1, dim), name=f"{name}_beta_map")(beta)
        gamma = layers.Reshape((1, 1, dim), name=f"{name}_gamma_map")(gamma)
    h = layers.Multiply(name=f"{name}_scale")([h, gamma])
    return layers.Add(name=f"{name}_shift")([h, beta])


def build_generator(resolution, z_dim, variant="dcgan_5x5", channels=None):
    """G: (B, z_dim) -> (B, res, res, 3) in [-1, 1]."""
    check_geometry(resolution, z_dim, variant, channels)
    kernel, self_modulated = VARIANTS[variant]
    num_layers, widest = _geometry(resolution, channels)
    first = resolution // 2 ** (num_layers + 1)

    def normalise(h, name):
        if self_modulated:
            return _self_modulated_bn(h, z_in, name)
        return layers.BatchNormalization(name=name)(h)

    z_in = keras.Input((z_dim,), name="z")
    h = layers.Dense(first * first * widest, kernel_initializer=_init(), name="project")(
        z_in
    )
    h = layers.Reshape((first, first, widest), name="reshape")(h)
    h = normalise(h, "bn0")
    h = layers.ReLU(name="relu0")(h)
    for i in range(num_layers):
        h = layers.Conv2DTranspose(
            widest // 2 ** (i + 1),
            kernel,
            strides=2,
            padding="same",
            kernel_initializer=_init(),
            name=f"deconv{i}",
        )(h)
        h = normalise(h, f"bn{i + 1}")
        h = layers.ReLU(name=f"relu{i + 1}")(h)
    h = layers.Conv2DTranspose(
        3, kernel, strides=2, padding="same", kernel_initializer=_init(), name="to_rgb"
    )(h)
    # float32 under a mixed dtype policy too: images leave G as float32.
    image = layers.Activation("tanh", dtype="float32", name="tanh")(h)
    return keras.Model(z_in, image, name="generator")
