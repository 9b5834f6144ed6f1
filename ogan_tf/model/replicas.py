"""Where a step runs: the replica's position under tf.distribute.

On one device and on JAX (whose data-parallel trainer runs one program over
the global batch: nothing to split by hand there) a step is replica 0 of 1.
"""

import keras


def replica_position():
    """(replicas in sync, this replica's index) under tf.distribute; (1, 0)
    on one device and on other backends."""
    if keras.backend.backend() != "tensorflow":
        return 1, 0
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return 1, 0
    return context.num_replicas_in_sync, context.replica_id_in_sync_group


def is_multi_worker():
    """True inside a tf.distribute strategy that spans several processes."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return tf.distribute.has_strategy() and isinstance(
        tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy
    )


def wait_for_replicas():
    """Under MirroredStrategy, wait here (while tracing) until every replica
    thread has arrived: so none is still in an earlier BN call when another
    squares the momentum (batchnorm.SquaredMomentum). Adds nothing to the
    traced graph; TensorFlow only (a no-op on other backends)."""
    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
        context.merge_call(lambda strategy: None)
