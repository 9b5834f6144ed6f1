"""What `--data` names: a preset or a path? The one place that decides it
(``resolve_data``), for `ogan-tf train`."""

import dataclasses
import os
import re
from pathlib import Path

from ..config import DEFAULT_PRESET, DISK_FORMATS, FOLDER_PRESET, preset_names, preset_values
from ..errors import ConfigError


@dataclasses.dataclass(frozen=True)
class DataChoice:
    """What `--data`, `--preset` and `--run` resolve to: the preset to start a
    new run from (None: the run's own when resuming, else the default), the
    settings the data adds (a path's data_path and dataset), the run's name."""
    preset: str | None
    overrides: dict
    run_name: str
    path: str = ""


def is_data_path(arg):
    """True when a --data value names a path rather than a preset: it has a
    '/', starts with '~' or '.', or is an existing folder or file (a .zip) no
    preset is named."""
    if "/" in arg or os.sep in arg or arg.startswith(("~", ".")):
        return True
    return Path(arg).exists() and arg not in preset_names()


def run_name_for_path(path):
    """A run name for a data path: its last part, in letters, digits, '.', '-', '_'."""
    name = Path(os.path.normpath(os.path.expanduser(path))).name
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".")
    return name or "data"


def resolve_data(data=None, preset=None, run=None):
    """The one place that decides what `--data` is.

    data: a preset name, a path (a folder of images, an LMDB folder or a
    TFRecords set), or None (a resumed run's own data, else the default).
    preset: the preset whose networks and settings train on that data
    (default: the data's own preset; for a path, FOLDER_PRESET).
    run: the run's name (default: the data's name, or a path's last part).
    """
    if data and is_data_path(data):
        path = os.path.abspath(os.path.expanduser(data))
        chosen = preset or FOLDER_PRESET
        overrides = {"data_path": path}
        if preset and preset_values(preset).get("dataset", "shapes") not in DISK_FORMATS:
            overrides["dataset"] = "auto"  # a generated set's preset on images from disk
        return DataChoice(chosen, overrides, run or run_name_for_path(path), path)
    if data and preset:
        raise ConfigError(f"--preset {preset} goes with a data path; --data {data} is a "
                          f"preset itself (pass --data path/to/images/ --preset {preset})")
    chosen = data or preset
    return DataChoice(chosen, {}, run or chosen or DEFAULT_PRESET)
