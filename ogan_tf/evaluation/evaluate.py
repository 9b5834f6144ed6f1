"""`ogan-tf evaluate`: every metric of a trained run, into its files.

``evaluate_run`` loads a run (EMA weights where it keeps them), computes
metrics.evaluate on held-out images (FID and KID on samples against the
data set's cached reference statistics: evaluation/fid.py), writes
``runs/<run>/eval.json`` and appends the same figures to ``metrics.jsonl``
as a row with ``"event": "eval"`` (training rows have no "event"). The same
rows are written during training by training/monitors.py (``eval_every``).
"""

import json
import time

from ..messages import say
from ..runs.files import write_text
from ..runs.folder import RunDir
from ..runs.models import load_run
from ..runs.weights import weights_label
from . import metrics
from .fid import fid_plan


def eval_row(step, weights, figures):
    return {"step": step, "time": round(time.time(), 3), "event": "eval",
            "weights": weights, **figures}


def evaluate_run(runs_dir, name, weights="auto", n=None, fid=True, log=say,
                 fid_network="auto", fid_images=None, fid_real=None, accelerator=False):
    """Evaluate run `name`'s latest checkpoint; returns the eval.json dict.

    fid_network: auto, standard, keras or a path to the standard graph
    (evaluation/features.py); fid_images / fid_real: samples and real images of
    FID and KID (None: evaluation/fid.py's defaults, the GPU ones where
    `accelerator`; fid_real 0: every training image).
    """
    plan = None
    if fid:  # the network first: a missing file is one line before any loading
        plan = fid_plan(fid_network, fid_images, fid_real, runs_dir, log, accelerator)
    config, model, step = load_run(runs_dir, name, weights)
    n = n or config.eval_images
    label = weights_label(config, weights)
    log(f"evaluating {name!r} at step {step} ({label} weights) on {n} held-out images"
        + (f"; FID/KID with {plan.network.describe()}" if plan else " (no FID)"))
    figures = metrics.evaluate(model.generator, model.encoder, config, n=n, fid=plan, log=log)
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
                        "kid_samples", "fid_recon", "kid_recon") if k in figures]
    text = "  " + ", ".join(f"{k} {figures[k]:.4g}" for k in keys)
    if "fid_network" in figures:
        text += (f"\n  FID/KID: {figures['fid_network']}"
                 + ("" if figures["fid_comparable"] else " (not comparable with papers)")
                 + f", {figures['fid_real_images']} real images, "
                 f"{figures['fid_sample_images']} samples, "
                 f"{figures['fid_recon_images']} reconstructions")
    return text
