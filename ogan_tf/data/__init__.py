"""Data: one Source type for every data set (data/sources.py), one image's
decoding and the uint8 <-> [-1, 1] conversion (data/images.py), the
generated shapes (data/shapes.py) and the tf.data pipeline (data/pipeline.py)."""
