"""ogan_tf: O-GAN (Su Jianlin, 2019) in Keras 3, a GAN whose discriminator
is also an encoder.

Layers, each importing only from those below it (docs/development.md):
cli > apps > api > training > latent > evaluation > inference > runs > data >
model > config, messages, errors.
``from ogan_tf import api`` is the Python API (ogan_tf.api).
"""

__version__ = "0.2.0"


def __getattr__(name):
    # Lazy: `import ogan_tf` (and so `ogan-tf --help`) does not load Keras.
    if name == "api":
        import importlib

        return importlib.import_module(".api", __name__)
    raise AttributeError(f"module 'ogan_tf' has no attribute {name!r}")
