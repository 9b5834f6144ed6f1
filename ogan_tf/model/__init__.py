"""The algorithm in keras.ops: losses, networks, the OGAN model and its
training step (step.py: plain and fused side by side), its optimizer, the
replica and BatchNorm helpers, weight EMAs, DiffAugment.
Imports nothing of ogan_tf but config and errors."""
