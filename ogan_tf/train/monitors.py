"""Optional monitors of a fit (off by default): evaluation and TensorBoard.

``eval_every`` steps > 0 runs use.metrics.evaluate into metrics.jsonl (rows
with ``"event": "eval"``, as `ogan-tf evaluate`); ``tensorboard = true``
writes every metrics row as scalars, and the sample grids as images, to
``runs/<run>/tensorboard/`` at the global step.
"""

import contextlib

import imageio.v3 as iio

from ..runs import weights_label
from ..use import metrics
from ..use.evaluation import eval_row
from ..use.fid import fid_plan
from .callbacks import StepCallback
from .hardware import accelerators


class EvaluateEvery(StepCallback):
    """Runs metrics.evaluate every `every` steps (and at the last step) into
    metrics.jsonl, with the weights the grids use (`weights()` a context)."""

    def __init__(self, config, run_dir, start_step, every, last_step, weights, label):
        super().__init__(start_step)
        self.config, self.run_dir = config, run_dir
        self.every, self.last_step = every, last_step
        self.weights, self.label = weights, label
        self.writer = None  # a TensorBoardWriter, when there is one
        self.guard = None  # a faults.RunGuard, when there is one
        # Built once, now: a missing network file stops the run before step 1,
        # and no evaluation builds the network again (the reference
        # statistics are cached beside the data or in the runs folder).
        self.fid = fid_plan(runs_dir=run_dir.path.parent, accelerator=bool(accelerators())) \
            if config.eval_fid else None

    def on_step_end(self, step):
        if step % self.every and step != self.last_step:
            return
        if self.guard is not None and self.guard.diverged:
            return  # nothing is computed from non-finite weights
        with self.weights():
            figures = metrics.evaluate(self.model.generator, self.model.encoder, self.config,
                                       n=self.config.eval_images, fid=self.fid)
        row = eval_row(step, self.label, figures)
        self.run_dir.append_metrics(row)
        if self.writer:
            self.writer.scalars(step, row, prefix="eval/")


class TensorBoardWriter(StepCallback):
    """Each Keras epoch's logs as scalars at the global step, and the grid
    PNGs written at a step (by the grid callback, earlier in the list) as
    images.

    Written with tf.summary.write and the scalars/images plugins' metadata,
    so training needs no tensorboard package (viewing them does).
    """

    def __init__(self, log_dir, start_step, grids_dir, sample_every, last_step):
        super().__init__(start_step)
        import tensorflow as tf
        from tensorflow.core.framework import summary_pb2

        def plugin(name):
            return summary_pb2.SummaryMetadata(
                plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=name)
            )

        self.tf = tf
        self.metadata = {"scalars": plugin("scalars"), "images": plugin("images")}
        self.summary = tf.summary.create_file_writer(str(log_dir))
        self.grids_dir, self.sample_every, self.last_step = grids_dir, sample_every, last_step

    def scalars(self, step, row, prefix="train/"):
        with self.summary.as_default():
            for key, value in row.items():
                if isinstance(value, (int, float)) and key not in ("step", "time"):
                    self.tf.summary.write(prefix + key, self.tf.constant(value, self.tf.float32),
                                          step=step, metadata=self.metadata["scalars"])
        self.summary.flush()

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)  # StepCallback: ends the epoch's last step
        self.scalars(self.step, {k: float(v) for k, v in (logs or {}).items()})

    def on_step_end(self, step):
        if step % self.sample_every and step != self.last_step:
            return
        with self.summary.as_default():
            for path in sorted(self.grids_dir.glob(f"*_step{step:07d}.png")):
                kind = path.name.split("_step")[0]
                height, width = iio.imread(path).shape[:2]
                # The images plugin's format: [width, height, PNG bytes...] as strings
                value = self.tf.constant([str(width), str(height), path.read_bytes()])
                self.tf.summary.write("grids/" + kind, value, step=step,
                                      metadata=self.metadata["images"])
        self.summary.flush()


def training_monitors(run, start, stop, grids_dir, weights, guard=None):
    """The optional callbacks for `run` (after the grid callback in the list);
    guard: the run's faults.RunGuard (no evaluation once it saw a divergence)."""
    config, out = run.config, []
    writer = None
    if config.tensorboard:
        writer = TensorBoardWriter(run.dir.path / "tensorboard", start, grids_dir,
                                   config.sample_every, stop)
        out.append(writer)
    if config.eval_every:
        evaluator = EvaluateEvery(config, run.dir, start, config.eval_every, stop,
                                  weights or contextlib.nullcontext,
                                  weights_label(config, "auto"))
        evaluator.writer, evaluator.guard = writer, guard
        out.append(evaluator)
    return out
