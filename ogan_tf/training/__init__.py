"""The training run: wiring (config -> data -> fit -> callbacks), the
callbacks, distribution, and the claims runner. The top layer under the CLI:
a run ends with an export and may evaluate while it trains (ogan_tf.inference)."""
