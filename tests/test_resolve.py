"""One resolver for every --run and api.load: a run name, a run folder or an
export folder (runs/resolve.py), on every command's parser path."""

import numpy as np
import pytest

from ogan_tf import cli
from ogan_tf.runs.folder import RunDir
from ogan_tf.runs.names import EXPORT_MODELS
from ogan_tf.runs.resolve import RunNotFoundError, resolve

from conftest import one_line_error, tiny_config


@pytest.fixture
def fake_run(tmp_path):
    """runs/r with a config.json and no checkpoint, and an export folder in
    it whose model files are not models: enough to see where a --run lands."""
    runs = tmp_path / "runs"
    RunDir(runs, "r").write_config(tiny_config())
    export = runs / "r" / "export"
    export.mkdir()
    for name in EXPORT_MODELS:
        (export / name).write_text("not a model")
    return runs


def test_resolve_names_folders_and_exports(fake_run, tmp_path):
    run = (fake_run / "r").resolve()
    assert resolve("r", fake_run).run() == (fake_run, "r")
    for form in (str(fake_run / "r"), f"{fake_run / 'r'}/", str(fake_run / "r" / "export")):
        assert resolve(form, "elsewhere").run() == (run.parent, "r")
    assert resolve(fake_run / "r" / "export").export == fake_run / "r" / "export"
    assert resolve(fake_run / "r").export is None
    # An export folder outside any run: api.load takes it, a run command does not
    alone = tmp_path / "alone"
    alone.mkdir()
    for name in EXPORT_MODELS:
        (alone / name).write_text("x")
    assert resolve(alone).export == alone and resolve(alone).name is None
    with pytest.raises(RunNotFoundError, match="outside any run folder; `ogan-tf export` needs"):
        resolve(alone).run("`ogan-tf export`")
    with pytest.raises(RunNotFoundError, match="neither a run folder .* nor an export folder"):
        resolve(tmp_path / "nothing")
    with pytest.raises(RunNotFoundError, match="invalid run name '.hidden'"):
        resolve(".hidden")


# Each command that loads a model, with the least it needs besides --run.
COMMAND_ARGS = {
    "samples": [], "export": [], "evaluate": ["--no-fid"],
    "encode": ["a.png", "-o", "c.npy"], "decode": ["c.npy", "-o", "d.png"],
    "reconstruct": ["a.png", "-o", "r.png"], "interpolate": ["a.png", "b.png", "-o", "i.png"],
    "direction": ["--positive", "p", "--negative", "n", "-o", "d.npy"],
    "principal": ["-o", "p.png"], "edit": ["a.png", "--direction", "d.npy", "-o", "e.png"],
    "neighbours": ["--index", "i", "--duplicates"],
    "serve": ["--port", "0"], "projector": ["a.png", "-o", "proj"],
}
RUN_ONLY = ("samples", "export", "evaluate")  # they need the run's data or checkpoints


def test_every_command_reads_run_through_the_resolver(fake_run, capsys, tmp_path,
                                                      monkeypatch):
    parser = cli.parser()
    with_run = {name for name, sub in parser._subparsers._group_actions[0].choices.items()
                if any("--run" in a.option_strings for a in sub._actions)}
    assert with_run - {"train"} == set(COMMAND_ARGS)
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "c.npy", np.zeros((1, 8), np.float32))
    for folder in ("p", "n", "i"):
        (tmp_path / folder).mkdir()
    run_forms = [["--run", "r", "--runs-dir", str(fake_run)], ["--run", str(fake_run / "r")],
                 ["--run", f"{fake_run / 'r'}/"]]
    for command, args in COMMAND_ARGS.items():
        for form in run_forms:  # each reaches the run's (missing) checkpoint
            assert cli.main([command, *args, *form]) == 1
            one_line_error(capsys, "run 'r' has no checkpoint")
        export = ["--run", str(fake_run / "r" / "export")]
        assert cli.main([command, *args, *export]) == 1
        if command in RUN_ONLY:  # the run the export sits in
            one_line_error(capsys, "run 'r' has no checkpoint")
        else:  # the export itself
            one_line_error(capsys, f"export {fake_run / 'r' / 'export'} is unreadable")
    # train: a new run is a name; a path must be a run folder to resume
    assert cli.main(["train", "--run", str(tmp_path / "nothing" / "x")]) == 1
    one_line_error(capsys, "nothing/x is neither a run folder")


def test_the_run_folder_module_loads_no_keras():
    """runs/folder.py and runs/resolve.py are plain files: the CLI writes a
    PNG or resolves a --run without loading Keras (runs/models.py does)."""
    import subprocess
    import sys

    code = ("import sys, ogan_tf.runs.folder, ogan_tf.runs.names, ogan_tf.runs.resolve, ogan_tf.runs.weights, ogan_tf.runs.files; "
            "print(sorted(m for m in ('keras', 'tensorflow', 'jax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
