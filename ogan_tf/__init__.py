"""ogan_tf: O-GAN (Su Jianlin, 2019) in Keras 3, a GAN whose discriminator
is also an encoder."""

__version__ = "0.1.0"
