"""The algorithm in keras.ops: losses, networks, the OGAN model and its
optimizer, weight EMAs. Imports nothing of ogan_tf but config and errors."""
