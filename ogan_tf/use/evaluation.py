"""`ogan-tf evaluate`: every metric of a trained run, into its files.

``evaluate_run`` loads a run (EMA weights where it keeps them), computes
metrics.evaluate on held-out images, writes ``runs/<run>/eval.json`` and
appends the same figures to ``metrics.jsonl`` as a row with
``"event": "eval"`` (training rows have no "event"). The same rows are
written during training by train/monitors.py (``eval_every``).
"""

import json
import time

from ..runs import RunDir, weights_label, write_text
from ..runs.models import load_run
from . import metrics


def eval_row(step, weights, figures):
    return {"step": step, "time": round(time.time(), 3), "event": "eval",
            "weights": weights, **figures}


def evaluate_run(runs_dir, name, weights="auto", n=None, fid=True, log=print):
    """Evaluate run `name`'s latest checkpoint; returns the eval.json dict."""
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
    write_text(run_dir.path / "eval.json", json.dumps({"run": name, **row}, indent=2) + "\n")
    run_dir.append_metrics(row)
    log(format_figures(figures))
    log(f"wrote {run_dir.path / 'eval.json'} and a row of {run_dir.metrics_path}")
    return {"run": name, **row}


def format_figures(figures):
    keys = [k for k in ("z_corr_fresh", "recon_mse", "recon_mse_other", "recon_ssim",
                        "recon_ssim_other", "swd_samples", "swd_recon", "fid_samples",
                        "fid_recon") if k in figures]
    return "  " + ", ".join(f"{k} {figures[k]:.4g}" for k in keys)
