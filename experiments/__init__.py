"""The presets: one TOML file per preset (ogan_tf/config.py reads them).
Installed, this folder is the package ogan_tf.experiments."""
