"""Optional monitors of a run (off by default): evaluation and TensorBoard.

``eval_every`` steps > 0 runs evaluation/metrics.py's evaluate into metrics.jsonl (rows
with ``"event": "eval"``, as `ogan-tf evaluate`); ``tensorboard = true``
writes every metrics row as scalars, and the sample grids as images (from
memory), to ``runs/<run>/tensorboard/`` at the global step. The run's step
end (step_end.py) calls them, in its written order.
"""

from ..evaluation import metrics
from ..evaluation.evaluate import eval_row
from ..evaluation.fid import fid_plan
from ..inference.grids import png_bytes
from .hardware import accelerators


class Evaluator:
    """metrics.evaluate of a run's model into metrics.jsonl, with the
    weights the grids use (`weights()` a context, `label` their name)."""

    def __init__(self, config, run_dir, weights, label):
        self.config, self.run_dir = config, run_dir
        self.weights, self.label = weights, label
        # Built once, now: a missing network file stops the run before step 1,
        # and no evaluation builds the network again (the reference
        # statistics are cached beside the data or in the runs folder).
        self.fid = fid_plan(runs_dir=run_dir.path.parent, accelerator=bool(accelerators())) \
            if config.eval_fid else None

    def evaluate(self, model, step):
        """Evaluate `model` at `step`, append the row; returns the row."""
        with self.weights():
            figures = metrics.evaluate(model.generator, model.encoder, self.config,
                                       n=self.config.eval_images, fid=self.fid)
        row = eval_row(step, self.label, figures)
        self.run_dir.append_metrics(row)
        return row


class TensorBoardWriter:
    """Scalars and grid images at the global step.

    Written with tf.summary.write and the scalars/images plugins' metadata,
    so training needs no tensorboard package (viewing them does).
    """

    def __init__(self, log_dir):
        import tensorflow as tf
        from tensorflow.core.framework import summary_pb2

        def plugin(name):
            return summary_pb2.SummaryMetadata(
                plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=name)
            )

        self.tf = tf
        self.metadata = {"scalars": plugin("scalars"), "images": plugin("images")}
        self.summary = tf.summary.create_file_writer(str(log_dir))

    def scalars(self, step, row, prefix="train/"):
        """The numbers of a metrics row (not its step and time)."""
        with self.summary.as_default():
            for key, value in row.items():
                if isinstance(value, (int, float)) and key not in ("step", "time"):
                    self.tf.summary.write(prefix + key, self.tf.constant(value, self.tf.float32),
                                          step=step, metadata=self.metadata["scalars"])
        self.summary.flush()

    def images(self, step, grids):
        """{kind: uint8 grid} as images grids/<kind>."""
        with self.summary.as_default():
            for kind, image in grids.items():
                height, width = image.shape[:2]
                # The images plugin's format: [width, height, PNG bytes...] as strings
                value = self.tf.constant([str(width), str(height), png_bytes(image)])
                self.tf.summary.write("grids/" + kind, value, step=step,
                                      metadata=self.metadata["images"])
        self.summary.flush()
