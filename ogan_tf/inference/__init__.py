"""What a trained model is for: inference helpers, the sample grids, export,
the Python API, metrics and evaluation. Loads runs through ogan_tf.runs and
never imports ogan_tf.training."""
