"""What a `--run` argument (and `api.load`'s first one) names: one resolver
for every command.

A source is a run name (no "/": a folder of `runs_dir`), or a path (with a
"/"): a run folder (holding config.json) or an export folder (holding the
exported models, inference/export.py; usually runs/<run>/export). So `shapes`,
`runs/shapes`, `runs/shapes/` and `runs/shapes/export` all name the same
run wherever one of them does (`./shapes` is the folder shapes/ here).
Plain file checks: no Keras here.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import OganError
from .names import CONFIG_NAME, EXPORT_MODELS


class RunNotFoundError(OganError):
    """A --run that names no run and no export."""


@dataclass(frozen=True)
class ResolvedRun:
    """A resolved --run: the run (runs_dir, name), the export folder, or both
    (an export inside its run's folder). Either part may be None."""

    text: str
    runs_dir: Path | None = None
    name: str | None = None
    export: Path | None = None

    @property
    def run_path(self):
        return None if self.name is None else self.runs_dir / self.name

    def run(self, command="this command"):
        """(runs_dir, name) of the run; RunNotFoundError for an export that sits
        in no run folder (commands that need the run's data or checkpoints)."""
        if self.name is None:
            raise RunNotFoundError(
                f"{self.text} is an export folder outside any run folder; {command} needs "
                "the run itself (a run name or a run folder with config.json)")
        return self.runs_dir, self.name


def is_run_folder(path):
    return (Path(path) / CONFIG_NAME).is_file()


def is_export_folder(path):
    return all((Path(path) / name).is_file() for name in EXPORT_MODELS)


def resolve(source, runs_dir="runs"):
    """The ResolvedRun that `source` (a run name, a run folder or an export folder)
    names; RunNotFoundError with one line where it names none of them. A run name
    is not checked for existence here: loading it says what is missing (a
    new run of `ogan-tf train` has none yet)."""
    text = str(source)
    path = Path(source)
    if not any(sep in text for sep in {"/", os.sep}) and text not in (".", ".."):
        if not text or text.startswith("."):
            raise RunNotFoundError(f"invalid run name {text!r}: use letters, digits, - and _ "
                              "(or a run or export folder, with a '/')")
        return ResolvedRun(text, Path(runs_dir), text)
    if is_export_folder(path):
        parent = path.resolve().parent
        if is_run_folder(parent):
            return ResolvedRun(text, parent.parent, parent.name, path)
        return ResolvedRun(text, export=path)
    if is_run_folder(path):
        resolved = path.resolve()
        return ResolvedRun(text, resolved.parent, resolved.name)
    raise RunNotFoundError(
        f"{text} is neither a run folder (with {CONFIG_NAME}) nor an export folder (with "
        f"{' and '.join(EXPORT_MODELS)}); pass a run name of {runs_dir}/ or one of those")
