"""The names of a run's files: config.json, the export folder and its
models, checkpoints by step, their EMA weight files, the temporary names of
an export being written. Each format is defined here once."""

import os
import re
from pathlib import Path

CONFIG_NAME = "config.json"
EXPORT_NAME = "export"  # runs/<run>/export/
# Files that make a folder an export (inference/export.py writes them).
EXPORT_MODELS = ("encoder_raw.keras", "generator.keras")
METRICS_NAME = "metrics.jsonl"
CHECKPOINT_NAME = re.compile(r"^ckpt-(\d+)\.keras$")
EMA_NAME = re.compile(r"^ckpt-(\d+)\.ema-([0-9.e-]+)\.weights\.h5$")
EMA_SUFFIX = ".weights.h5"
# An export being written, and the export it replaces, named with the pid
# of the process writing them (inference/export.py).
EXPORT_TMP = re.compile(r"^\.(tmp|old)-export-(\d+)(-.*)?$")


def checkpoint_name(step):
    return f"ckpt-{step:07d}.keras"


def export_temporary_names(pid=None):
    """(prefix of the folder an export is built in, name of the export it
    replaces while they swap) for process `pid` (default this one)."""
    pid = os.getpid() if pid is None else pid
    return f".tmp-export-{pid}-", f".old-export-{pid}"


def ema_path(ckpt_path, decay):
    """Where the `decay` EMA weights of a checkpoint live, beside it."""
    ckpt_path = Path(ckpt_path)
    # repr, not :g: the name must parse back to the same float
    return ckpt_path.with_name(f"{ckpt_path.stem}.ema-{float(decay)!r}{EMA_SUFFIX}")


def ema_weight_paths(ckpt_path):
    """{decay: path} of the EMA weight files saved beside `ckpt_path`.

    Each holds the whole OGAN model's weights with G's and E's replaced by
    their moving average: load with ``model.load_weights(path)`` into the
    model loaded from `ckpt_path`.
    """
    ckpt_path = Path(ckpt_path)
    found = {}
    if ckpt_path.parent.is_dir():
        for path in ckpt_path.parent.iterdir():
            match = EMA_NAME.match(path.name)
            if match and path.name.startswith(ckpt_path.stem + "."):
                found[float(match.group(2))] = path
    return dict(sorted(found.items()))
