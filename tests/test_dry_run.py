"""`ogan-tf train --dry-run` (training/plan.py): what would be trained, and
every setting, printed; nothing written."""

import os

from ogan_tf import cli
from ogan_tf.config import SECTIONS, SETTINGS
from ogan_tf.training import folder_recipe

from conftest import TINY, one_line_error
from test_folder_recipe import folder_of


def snapshot(*folders):
    """{path: (size, mtime)} of every file under `folders`."""
    out = {}
    for folder in folders:
        for root, _, files in os.walk(folder):
            for name in files:
                stat = os.stat(os.path.join(root, name))
                out[os.path.join(root, name)] = (stat.st_size, stat.st_mtime_ns)
    return out


def settings(printed):
    """{name: value text} of the `  name = value` lines."""
    pairs = (line.split(" = ", 1) for line in printed.splitlines()
             if line.startswith("  ") and " = " in line)
    return {name.strip(): value for name, value in pairs}


def test_a_folder_prints_the_recipes_choices_and_writes_nothing(tmp_path, dirs, capsys,
                                                              monkeypatch):
    folder = folder_of(tmp_path, 20, 64)
    monkeypatch.setenv("OGAN_CACHE_DIR", str(tmp_path / "cache"))
    before = snapshot(tmp_path)
    assert cli.main(["train", "--data", str(folder), "--dry-run", *dirs[2]]) == 0
    out = capsys.readouterr().out
    assert f"dry run: a new run '{folder.name}'" in out
    assert "folder recipe: resolution 64 (the images' median short side is 64 px)" in out
    chosen = settings(out)
    assert list(chosen) == [n for s in SECTIONS for n, f in SETTINGS.items()
                            if f.metadata["section"] == s]  # every setting, by section
    assert [line for line in out.splitlines() if line.startswith("settings: ")] == \
        [f"settings: {s}" for s in SECTIONS]
    assert chosen["resolution"] == "64"
    assert chosen["steps"] == str(folder_recipe.MIN_STEPS)
    assert chosen["augment"] == repr(folder_recipe.AUGMENT)
    assert chosen["preset"] == "'folder'"
    assert "preset 'folder': A folder of your own images" in out
    assert "measured when the run starts" in out  # auto speed settings, not measured
    assert snapshot(tmp_path) == before
    assert not dirs[0].exists() and not dirs[1].exists()


def test_the_command_line_wins_in_the_printed_settings(tmp_path, dirs, capsys):
    folder = folder_of(tmp_path, 20, 64)
    assert cli.main(["train", "--data", str(folder), "--dry-run", "--steps", "7",
                     "--resolution", "32", *dirs[2]]) == 0
    chosen = settings(capsys.readouterr().out)
    assert (chosen["steps"], chosen["resolution"]) == ("7", "32")


def test_a_run_with_a_checkpoint_says_where_it_resumes(trained_run, dirs, capsys):
    trained_run(*TINY, "--steps", "10", "--run", "t")
    before = snapshot(dirs[0], dirs[1])
    assert cli.main(["train", "--run", "t", "--steps", "20", "--dry-run", *dirs[2]]) == 0
    out = capsys.readouterr().out
    assert "dry run: resumes run 't' from step 10" in out and "ckpt-0000010.keras" in out
    assert settings(out)["steps"] == "20"
    assert snapshot(dirs[0], dirs[1]) == before  # no lock, no config.json rewritten
    assert cli.main(["train", "--run", "t", "--dry-run", "--fresh", *dirs[2]]) == 0
    assert "a new run 't'" in capsys.readouterr().out
    assert snapshot(dirs[0], dirs[1]) == before


def test_a_setting_fixed_for_the_run_is_the_same_one_line_error(trained_run, dirs, capsys):
    trained_run(*TINY, "--steps", "10", "--run", "t")
    assert cli.main(["train", "--run", "t", "--z-dim", "16", "--dry-run", *dirs[2]]) == 1
    one_line_error(capsys, "run was trained with z_dim=8, not 16")


def test_the_offline_digits_are_not_written(tmp_path, dirs, capsys):
    root = tmp_path / "data"
    assert cli.main(["train", "--data", "mnist", "--data-dir", str(root), "--dry-run",
                     *dirs[2]]) == 0
    assert f"would be written to {root / 'mnist'}" in capsys.readouterr().out
    assert not root.exists()


def test_an_unknown_preset_is_a_one_line_error(dirs, capsys):
    assert cli.main(["train", "--data", "no_such_preset", "--dry-run", *dirs[2]]) == 1
    one_line_error(capsys, "unknown data/preset 'no_such_preset'")
