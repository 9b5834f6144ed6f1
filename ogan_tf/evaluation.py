"""Evaluating a run: `ogan-tf evaluate`, and the optional monitors of a fit.

``evaluate_run`` loads a run (EMA weights where it keeps them), computes
metrics.evaluate on held-out images, writes ``runs/<run>/eval.json`` and
appends the same figures to ``metrics.jsonl`` as a row with
``"event": "eval"`` (training rows have no "event").

During training (off by default): ``eval_every`` steps > 0 runs the same
evaluation into metrics.jsonl; ``tensorboard = true`` writes every
metrics row as scalars, and the sample grids as images, to
``runs/<run>/tensorboard/`` at the global step.
"""

import contextlib
import json
import time

import imageio.v3 as iio

from . import metrics
from .callbacks import StepCallback
from .export import weights_label
from .runs import RunDir, _write_text


def eval_row(step, weights, figures):
    return {"step": step, "time": round(time.time(), 3), "event": "eval",
            "weights": weights, **figures}


def evaluate_run(runs_dir, name, weights="auto", n=None, fid=True, log=print):
    """Evaluate run `name`'s latest checkpoint; returns the eval.json dict."""
    from .training import load_run

    if fid:
        metrics.inception_weights_path()  # the one-line error before loading anything
    config, model, step = load_run(runs_dir, name, weights)
    n = n or config.eval_images
    label = weights_label(config, weights)
    log(f"evaluating {name!r} at step {step} ({label} weights) on {n} held-out images"
        + ("" if fid else " (no FID)"))
    figures = metrics.evaluate(model.generator, model.encoder, config, n=n, fid=fid, log=log)
    row = eval_row(step, label, figures)
    run_dir = RunDir(runs_dir, name)
    _write_text(run_dir.path / "eval.json", json.dumps({"run": name, **row}, indent=2) + "\n")
    run_dir.append_metrics(row)
    log(format_figures(figures))
    log(f"wrote {run_dir.path / 'eval.json'} and a row of {run_dir.metrics_path}")
    return {"run": name, **row}


def format_figures(figures):
    keys = [k for k in ("z_corr_fresh", "recon_mse", "recon_mse_other", "recon_ssim",
                        "recon_ssim_other", "swd_samples", "swd_recon", "fid_samples",
                        "fid_recon") if k in figures]
    return "  " + ", ".join(f"{k} {figures[k]:.4g}" for k in keys)


class EvaluateEvery(StepCallback):
    """Runs metrics.evaluate every `every` steps (and at the last step) into
    metrics.jsonl, with the weights the grids use (`weights()` a context)."""

    def __init__(self, config, run_dir, start_step, every, last_step, weights, label):
        super().__init__(start_step)
        self.config, self.run_dir = config, run_dir
        self.every, self.last_step = every, last_step
        self.weights, self.label = weights, label
        self.writer = None  # a TensorBoardWriter, when there is one
        # Built once, now: a missing weights file stops the run before step 1,
        # and no evaluation builds InceptionV3 again.
        self.feature_model = metrics.inception_model() if config.eval_fid else None

    def on_step_end(self, step):
        if step % self.every and step != self.last_step:
            return
        with self.weights():
            figures = metrics.evaluate(self.model.generator, self.model.encoder, self.config,
                                       n=self.config.eval_images, fid=self.config.eval_fid,
                                       feature_model=self.feature_model)
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


def training_monitors(run, start, stop, grids_dir, weights):
    """The optional callbacks for `run` (after the grid callback in the list)."""
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
        evaluator.writer = writer
        out.append(evaluator)
    return out
