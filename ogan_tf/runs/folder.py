"""A run directory ``runs/<run>/`` on disk: config.json, metrics.jsonl, the
checkpoints and their EMA files, the lock, moving a run aside. Plain files:
no Keras here (runs/models.py loads and saves a run's models).

Checkpoints are whole ``.keras`` files of the OGAN model (weights of G and E,
the z seed state, the optimizer's slots and step counter), named by step:
``checkpoints/ckpt-0001500.keras``. Each is written to a temporary file in
the same folder, flushed, then renamed into place, so a crash mid-write
leaves every earlier checkpoint intact and never a half file under a
checkpoint name (files.py: also a full disk). lock.py: one trainer per run.
"""

import contextlib
import json
import os
import shutil
import time
from pathlib import Path

from ..config import FIXED_FOR_RUN, Config
from ..errors import CheckpointError, ConfigError
from ..messages import say
from . import lock as run_lock
from .files import append_line, atomic_write, file_size, write_text
from .names import (
    CHECKPOINT_NAME,
    CONFIG_NAME,
    EMA_SUFFIX,
    EXPORT_NAME,
    EXPORT_TMP,
    METRICS_NAME,
    checkpoint_name,
    ema_path,
    ema_weight_paths,
)


class RunDir:
    """Paths and files of one run."""

    def __init__(self, runs_dir, name):
        if not name or "/" in name or name.startswith("."):
            raise ConfigError(f"invalid run name {name!r}: use letters, digits, - and _")
        self.name = name
        self.path = Path(runs_dir) / name
        self.checkpoints = self.path / "checkpoints"
        self.config_path = self.path / CONFIG_NAME
        self.metrics_path = self.path / METRICS_NAME
        self.export = self.path / EXPORT_NAME

    # config -------------------------------------------------------------
    def exists(self):
        return self.path.exists()

    def write_config(self, config):
        self.path.mkdir(parents=True, exist_ok=True)
        write_text(self.config_path, config.to_json() + "\n")

    def read_config(self):
        if not self.config_path.is_file():
            raise CheckpointError(
                f"{self.config_path} is missing: {self.path} is not an ogan-tf run "
                "(train it with `ogan-tf train --run NAME`)"
            )
        try:
            return Config.from_saved(json.loads(self.config_path.read_text()))
        except (ValueError, ConfigError) as err:
            raise CheckpointError(
                f"{self.config_path} is unreadable ({err}); fix it or start the run "
                "again with --fresh"
            ) from None

    # metrics ------------------------------------------------------------
    def append_metrics(self, row):
        append_line(self.metrics_path, json.dumps(row) + "\n")

    def read_metrics(self):
        return self._read_metrics()[0]

    def _read_metrics(self):
        """(rows, clean): clean is False where the file ends in a line cut
        short (a process killed while appending)."""
        if not self.metrics_path.is_file():
            return [], True
        text = self.metrics_path.read_text(errors="replace")
        lines = text.splitlines()
        rows = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except ValueError:
                if number == len(lines):  # the last line, cut short: dropped
                    return rows, False
                raise CheckpointError(
                    f"{self.metrics_path} line {number} is not JSON; fix or remove that line"
                ) from None
        return rows, text.endswith("\n") or not text

    def truncate_metrics(self, step):
        """Drop rows past `step` (training lost after the last checkpoint) and
        a last line cut short."""
        rows, clean = self._read_metrics()
        kept = [r for r in rows if r.get("step", 0) <= step]
        if len(kept) != len(rows) or not clean:
            write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in kept))

    # the lock ---------------------------------------------------------------
    def lock(self, log=say):
        """Take runs/<run>/lock (creating the run folder): one trainer per run.
        Raises RunInUseError saying who holds it; see lock.py."""
        self.path.mkdir(parents=True, exist_ok=True)
        return run_lock.acquire(self.path / run_lock.LOCK_NAME, self.name, log)

    def remove_temporaries(self):
        """Clear what a killed process left (call holding the lock): temporary
        files, and the folders of an export cut short by a process of this
        host that is gone (its old export goes back under its name)."""
        for folder in (self.path, self.checkpoints):
            for stale in folder.glob(".tmp-*") if folder.is_dir() else ():
                if stale.is_file():
                    stale.unlink()
        export = self.export
        for stale in sorted(self.path.glob(".*-export-*")) if self.path.is_dir() else ():
            match = EXPORT_TMP.match(stale.name)
            if not match or run_lock.process_alive(int(match.group(2))):
                continue
            if match.group(1) == "old" and not export.exists():
                os.replace(stale, export)  # killed between the two renames of a swap
            else:
                shutil.rmtree(stale, ignore_errors=True)

    # checkpoints ----------------------------------------------------------
    def checkpoint_steps(self):
        if not self.checkpoints.is_dir():
            return []
        steps = (CHECKPOINT_NAME.match(p.name) for p in self.checkpoints.iterdir())
        return sorted(int(m.group(1)) for m in steps if m)

    def checkpoint_path(self, step):
        return self.checkpoints / checkpoint_name(step)

    def latest_checkpoint(self):
        steps = self.checkpoint_steps()
        return self.checkpoint_path(steps[-1]) if steps else None

    def write_checkpoint(self, step, keep, save, ema_saves=None):
        """Write the checkpoint for `step` atomically; keep the newest `keep`.

        save(tmp) writes the checkpoint file; ema_saves {decay: save(tmp)}
        its EMA weight files, written before it, so a checkpoint never exists
        without its EMA files. DiskFullError (files.py) where the disk is
        full: then the checkpoints before are intact and no file of this one
        is left. models.save_checkpoint writes a model with it.
        """
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        for stale in self.checkpoints.glob(".tmp-*"):  # left by a crash
            stale.unlink()
        path = self.checkpoint_path(step)
        latest = self.latest_checkpoint()
        needed = 0 if latest is None else sum(
            file_size(p) for p in [latest, *ema_weight_paths(latest).values()])
        advice = ("free some space (or keep fewer checkpoints: --keep-checkpoints), then "
                  "train again: the run resumes from "
                  + (latest.name if latest else "step 0"))
        written = []
        try:
            for decay, save_ema in (ema_saves or {}).items():
                written.append(ema_path(path, decay))
                atomic_write(written[-1], save_ema, suffix=EMA_SUFFIX, expected_size=needed,
                             advice=advice)
            atomic_write(path, save, expected_size=needed, advice=advice)
        except BaseException:
            if not path.exists():  # no EMA file without its checkpoint
                for done in written:
                    with contextlib.suppress(FileNotFoundError):
                        done.unlink()
            raise
        for old in self.checkpoint_steps()[:-keep]:
            old_path = self.checkpoint_path(old)
            for stale in ema_weight_paths(old_path).values():
                stale.unlink()
            old_path.unlink()
        return path

    def move_aside(self, path):
        """Move checkpoint `path` and its EMA files into checkpoints/broken/
        (never deleted); returns where the checkpoint went."""
        broken = self.checkpoints / "broken"
        broken.mkdir(exist_ok=True)
        target, n = broken / path.name, 1
        while target.exists():  # an earlier one of the same name stays
            target, n = broken / f"{path.name}.{n}", n + 1
        for ema_file in ema_weight_paths(path).values():
            os.replace(ema_file, broken / (ema_file.name + target.name[len(path.name):]))
        os.replace(path, target)
        return target

    def archive(self):
        """Move this run aside (for --fresh): nothing is deleted."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.name}.old-{stamp}")
        shutil.move(str(self.path), str(target))
        return target


def check_resumable(saved, requested_overrides):
    """Refuse overrides that would change a fixed setting of an existing run."""
    for key, value in requested_overrides.items():
        if value is None or key not in FIXED_FOR_RUN:
            continue
        if getattr(saved, key) != value:
            raise ConfigError(
                f"run was trained with {key}={getattr(saved, key)!r}, not {value!r}; "
                "use another RUN name, or --fresh to start this one over"
            )
