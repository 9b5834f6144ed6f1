"""ogan_tf: O-GAN (Su Jianlin, 2019) in Keras 3, a GAN whose discriminator
is also an encoder.

Layers, each importing only from those below it (docs/development.md):
cli > train > use > runs > data > core > config, messages, errors.
``from ogan_tf import api`` is the Python API (ogan_tf.use.api).
"""

__version__ = "0.2.0"


def __getattr__(name):
    # Lazy: `import ogan_tf` (and so `ogan-tf --help`) does not load Keras.
    if name == "api":
        from .use import api

        return api
    raise AttributeError(f"module 'ogan_tf' has no attribute {name!r}")
