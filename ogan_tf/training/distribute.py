"""Scaling out on the engines that exist for it (docs/scaling.md).

config.strategy picks one:
  none           one device, as the author (Keras' default)
  mirrored       TensorFlow: tf.distribute.MirroredStrategy over all local
                 GPUs (no GPU: the CPU's logical devices, see CPU_DEVICES_ENV)
  multi-worker   TensorFlow: tf.distribute.MultiWorkerMirroredStrategy, one
                 process per machine, the cluster read from $TF_CONFIG
  data-parallel  JAX: keras.distribution.DataParallel over all devices of
                 this process (one SPMD program over the global batch)

The maths under replication (tested in tests/test_distribute.py):
- config.batch_size is the GLOBAL batch; each of R replicas gets B/R rows;
  the learning rate is not changed (the gradient applied is the gradient of
  the same global batch as on one device).
- tf.distribute sums the replicas' gradients, so OGAN.compute_loss divides
  its per-replica mean by R (model/replicas.py's replica_position gives R); Keras'
  JAX trainer runs one program over the global batch and needs nothing.
- z: every replica draws the whole global batch's z from the same seed state
  and keeps its own rows (model/ogan.py: OGAN.draw_z), so replicas get different z
  and the run draws exactly the z a single device would.
- Data: each input pipeline reads its own 1/n of the training images
  (data.pipeline.training_dataset's `shard`), never a copy of another's.
- Only the chief (worker 0) writes checkpoints, grids, metrics and exports.

Each strategy imports its engine (tensorflow or jax) inside the function
that builds it: a run loads only the library its backend needs.
"""

import contextlib
import json
import os

import keras

from ..errors import ConfigError

# Split the CPU into N logical devices (TensorFlow), so `mirrored` can be run
# and tested on a machine without GPUs. No effect when there are GPUs.
CPU_DEVICES_ENV = "OGAN_CPU_DEVICES"
_ENGINE = {"mirrored": "tensorflow", "multi-worker": "tensorflow", "data-parallel": "jax"}


class Placement:
    """Where a run computes: the strategy (TF), the replica count, and whether
    this process is the chief (the one that writes files)."""

    def __init__(self, name="none", strategy=None, replicas=1, worker=0, workers=1):
        self.name = name
        self.strategy = strategy  # a tf.distribute.Strategy, or None
        self.replicas = replicas  # replicas in sync, all workers together
        self.worker = worker  # this process's index
        self.workers = workers  # processes taking part
        self.global_batch = None  # config.batch_size, set by place()
        self.batchnorm = ""  # how BN normalises here, in words, set by place()

    @property
    def is_chief(self):
        return self.worker == 0

    def scope(self):
        """Context in which the model must be built or loaded."""
        return self.strategy.scope() if self.strategy else contextlib.nullcontext()

    def per_replica_batch(self, batch_size):
        return batch_size // self.replicas

    def dataset(self, make):
        """What fit reads: make(shard_index, shard_count, batch_size) builds
        one input pipeline of `batch_size` images from shard `shard_index`."""
        if self.strategy is None:  # one process: the global batch
            return make(self.worker, self.workers, self.global_batch // self.workers)

        def per_worker(context):
            # One pipeline per worker, batched per replica: tf.distribute
            # hands its consecutive batches to this worker's replicas.
            return make(context.input_pipeline_id, context.num_input_pipelines,
                        context.get_per_replica_batch_size(self.global_batch))

        return self.strategy.distribute_datasets_from_function(per_worker)

    def any_worker(self, flag):
        """True on every worker where `flag` is True on any (a collective:
        every worker must call it at the same point; one process: `flag`)."""
        if self.workers == 1:
            return bool(flag)
        if self.strategy is not None:  # TF multi-worker: an all-reduce of the flags
            import tensorflow as tf

            value = tf.constant(1.0 if flag else 0.0)

            @tf.function
            def reduce():
                per_replica = self.strategy.run(lambda: tf.identity(value))
                return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica,
                                            axis=None)

            return float(reduce()) > 0
        import numpy as np  # JAX over several processes
        from jax.experimental import multihost_utils

        return bool(np.any(multihost_utils.process_allgather(np.array(bool(flag)))))

    def describe(self):
        if self.name == "none":
            return "one device"
        where = f", worker {self.worker} of {self.workers}" if self.workers > 1 else ""
        return f"{self.name}: {self.replicas} replicas{where}; {self.batchnorm}"


def place(config):
    """The Placement for config.strategy; raises ConfigError (saying what to
    do) where the strategy does not fit the backend, the machine or the batch."""
    name = config.strategy
    backend = keras.backend.backend()
    if name != "none" and _ENGINE[name] != backend:
        other = {"tensorflow": "mirrored or multi-worker", "jax": "data-parallel"}[backend]
        raise ConfigError(
            f"--strategy {name} runs on the {_ENGINE[name]} backend, and KERAS_BACKEND is "
            f"{backend!r}; use --strategy {other}, or KERAS_BACKEND={_ENGINE[name]}"
        )
    if name == "none":
        placement = Placement()
    elif name == "mirrored":
        placement = _mirrored()
    elif name == "multi-worker":
        placement = _multi_worker()
    else:
        placement = _data_parallel()
    _check_batch(config, placement)
    placement.global_batch = config.batch_size
    placement.batchnorm = _batchnorm(config, placement)
    return placement


def _batchnorm(config, placement):
    """Over which images BatchNorm takes its statistics, in words."""
    if placement.replicas == 1:
        return "BatchNorm over the batch"
    if placement.strategy is None:  # JAX: one program over the global batch
        return "BatchNorm over the global batch (always, on JAX)"
    if config.sync_batchnorm:
        return "BatchNorm synchronized over the global batch"
    return (f"BatchNorm per replica, over {placement.per_replica_batch(config.batch_size)} "
            "images (--sync-batchnorm: over all)")


def _check_batch(config, placement):
    b, r = config.batch_size, placement.replicas
    if b % r or b // r < 2:
        raise ConfigError(
            f"batch_size {b} (the global batch) does not split into {r} replicas of at "
            f"least 2 images; use a multiple of {r}, e.g. --batch-size {max(2, b // r) * r}"
        )


def split_cpu(count):
    """Make the CPU `count` logical TensorFlow devices (before TF starts)."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    wanted = [tf.config.LogicalDeviceConfiguration()] * count
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == count:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, wanted)
    except RuntimeError:  # TensorFlow already started with another split
        have = len(tf.config.list_logical_devices("CPU"))
        raise ConfigError(
            f"${CPU_DEVICES_ENV}={count}, but TensorFlow already started with {have} "
            "CPU device(s); set it before the process starts"
        ) from None


def _mirrored():
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU") and os.environ.get(CPU_DEVICES_ENV):
        split_cpu(int(os.environ[CPU_DEVICES_ENV]))
    devices = [d.name for d in tf.config.list_logical_devices("GPU")]
    devices = tuple(devices or [d.name for d in tf.config.list_logical_devices("CPU")])
    # One strategy per device set and process: two MirroredStrategy objects
    # over the same devices issue colliding collective keys.
    if devices not in _MIRRORED:
        _MIRRORED[devices] = tf.distribute.MirroredStrategy(list(devices))
    strategy = _MIRRORED[devices]
    return Placement("mirrored", strategy, strategy.num_replicas_in_sync)


_MIRRORED = {}


def _multi_worker():
    import tensorflow as tf

    text = os.environ.get("TF_CONFIG")
    try:
        cluster = json.loads(text) if text else None
        workers = len(cluster["cluster"]["worker"])
        index = int(cluster["task"]["index"])
    except (ValueError, KeyError, TypeError):
        raise ConfigError(
            "--strategy multi-worker reads the cluster from $TF_CONFIG, which is "
            + ("missing" if not text else f"not valid ({text[:80]!r})")
            + '; set it on every machine, e.g. TF_CONFIG=\'{"cluster": {"worker": '
            '["host0:12345", "host1:12345"]}, "task": {"type": "worker", "index": 0}}\' '
            '(docs/scaling.md)'
        ) from None
    if not tf.config.list_physical_devices("GPU") and os.environ.get(CPU_DEVICES_ENV):
        split_cpu(int(os.environ[CPU_DEVICES_ENV]))
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    return Placement("multi-worker", strategy, strategy.num_replicas_in_sync, index, workers)


def _data_parallel():
    import jax

    devices = jax.devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    return Placement("data-parallel", None, len(devices), jax.process_index(),
                     jax.process_count())
