"""The presets are edited in the top-level experiments/ folder and ship
inside the package as ogan_tf.experiments (read with importlib.resources).
Everything else about the package is in setup.cfg."""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["ogan_tf", "ogan_tf.*"]), "ogan_tf.experiments"],
      package_dir={"ogan_tf.experiments": "experiments"})
