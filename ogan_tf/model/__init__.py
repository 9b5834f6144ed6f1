"""The algorithm in keras.ops: losses, networks, the OGAN model, its fused
step, its optimizer, the replica and BatchNorm helpers, weight EMAs.
Imports nothing of ogan_tf but config and errors."""
