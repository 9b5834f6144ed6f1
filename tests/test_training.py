"""End to end through the CLI and the training API, on tiny models."""

import json
import os
import subprocess
import sys

import imageio.v3 as iio
import keras
import numpy as np
import pytest

from ogan_tf import cli
from ogan_tf.config import load_preset
from ogan_tf.model.optimizer import AuthorRMSprop
from ogan_tf.runs.folder import RunDir
from ogan_tf.runs.models import current_step, load_checkpoint, save_checkpoint
from ogan_tf.training import building
from ogan_tf.training import train as training

from conftest import TINY, TINY_SETTINGS, one_line_error, only_on, tiny_config

# No export at the end: the tests that check one ask for it.
SHORT = ["--log-every", "10", "--sample-every", "10", "--checkpoint-every", "10",
         "--export-at-end", "none"]
TINY_OVERRIDES = dict(TINY_SETTINGS, log_every=10, sample_every=10, checkpoint_every=10,
                      export_at_end="none")


def train(dirs, *args, run="t"):
    return cli.main(["train", *TINY, *SHORT, "--run", run, *dirs[2], *args])


@pytest.fixture
def trained(trained_run):
    """trained(*args): as train(dirs, *args) == 0, from the session's copy."""
    return lambda *args, run="t": trained_run(*TINY, *SHORT, "--run", run, *args)


@pytest.mark.trains
@pytest.mark.jax(slow=True)  # end to end on each backend
def test_train_writes_grids_checkpoints_and_metrics(dirs):
    runs, samples, _ = dirs
    assert train(dirs, "--steps", "25") == 0
    config = json.loads((runs / "t" / "config.json").read_text())
    assert config["z_dim"] == 8 and config["steps"] == 25 and config["variant"] == "sm_4x4"
    rows = RunDir(runs, "t").read_metrics()
    assert [r["step"] for r in rows] == [10, 20, 25]
    assert all({"loss", "z_corr", "t1", "time", "steps_per_s"} <= set(r) for r in rows)
    assert RunDir(runs, "t").checkpoint_steps() == [10, 20, 25]
    for step in (10, 20, 25):
        shapes = {kind: iio.imread(samples / "t" / f"{kind}_step{step:07d}.png").shape
                  for kind in ("random", "reconstruction", "interpolation")}
        assert shapes == {"random": (288, 288, 3), "reconstruction": (256, 256, 3),
                          "interpolation": (256, 384, 3)}


@pytest.mark.trains
@pytest.mark.slow  # XLA compiles the step: ~25 CPU seconds
def test_the_default_recipe_trains_with_its_own_speed_settings_and_ema(dirs):
    """The shapes preset as shipped (fused step and XLA measured, a 0.999
    weight EMA, learning rate 1e-3; the tiny tests set these back): it
    trains, saves the EMA beside each checkpoint and exports the EMA weights.
    (Four steps are too few to measure: the speed settings stay auto.)"""
    runs, samples, dir_args = dirs
    small = ["--z-dim", "8", "--channels", "16", "--batch-size", "8", "--dataset-size", "256"]
    assert cli.main(["train", *small, "--steps", "4", "--log-every", "2", "--sample-every", "4",
                     "--checkpoint-every", "4", "--run", "d", *dir_args]) == 0
    run = RunDir(runs, "d")
    config = run.read_config()
    assert (config.fused_step, config.jit_compile, config.ema_decays, config.learning_rate) == \
        ("auto", "auto", (0.999,), 1e-3)
    assert (run.checkpoints / "ckpt-0000004.ema-0.999.weights.h5").is_file()
    info = json.loads((run.path / "export" / "info.json").read_text())
    assert info["weights"] == "ema-0.999"
    rows = run.read_metrics()
    assert [r["step"] for r in rows] == [2, 4] and all(np.isfinite(r["loss"]) for r in rows)


@pytest.mark.trains
@pytest.mark.jax(slow=True)
def test_resume_continues_steps_with_optimizer_state(dirs):
    runs, samples, _ = dirs
    first = training.start_run(runs, samples, "r", "shapes", dict(TINY_OVERRIDES, steps=20))
    training.train(first, samples)
    saved_opt = [np.array(v) for v in first.model.optimizer.variables]
    saved_weights = first.model.get_weights()
    saved_z_state = np.array(first.model.seed_generator.state.value)

    messages = []
    second = training.start_run(runs, samples, "r", "shapes",
                                dict(TINY_OVERRIDES, steps=30), log=messages.append)
    assert second.start_step == 20 and second.resumed_from is not None
    assert any("resuming run 'r' from step 20" in m for m in messages)
    assert len(second.model.optimizer.variables) == len(saved_opt)
    for restored, saved in zip(second.model.optimizer.variables, saved_opt):
        assert np.array_equal(np.array(restored), saved)
    for restored, saved in zip(second.model.get_weights(), saved_weights):
        assert np.array_equal(restored, saved)
    # The z draws go on from step 20's state, not again from the seed.
    assert np.array_equal(np.array(second.model.seed_generator.state.value), saved_z_state)
    assert saved_z_state.any()
    # RMSprop's slots are not empty: the state really is restored, not fresh zeros
    assert any(np.abs(v).sum() > 0 for v in saved_opt[2:])

    training.train(second, samples)
    assert current_step(second.model) == 30
    assert [r["step"] for r in RunDir(runs, "r").read_metrics()] == [10, 20, 30]
    assert RunDir(runs, "r").checkpoint_steps() == [10, 20, 30]
    assert json.loads((runs / "r" / "config.json").read_text())["steps"] == 30


@pytest.mark.slow  # four runs: ~27 CPU s
@pytest.mark.trains
def test_runs_keep_their_rmsprop_and_runs_from_before_the_setting_keep_keras3s(dirs, trained):
    runs, _, _ = dirs
    trained("--steps", "10")  # the default: the author's update
    assert train(dirs, "--steps", "20") == 0
    assert type(load_checkpoint(RunDir(runs, "t").latest_checkpoint(),
                                RunDir(runs, "t").read_config()).optimizer) is AuthorRMSprop
    # A run saved before the setting existed trained with Keras 3's RMSprop:
    # its config.json has no rmsprop_update, and it resumes with Keras 3's.
    assert train(dirs, "--steps", "10", "--rmsprop-update", "keras3", run="old") == 0
    path = runs / "old" / "config.json"
    saved = json.loads(path.read_text())
    del saved["rmsprop_update"]
    path.write_text(json.dumps(saved))
    assert RunDir(runs, "old").read_config().rmsprop_update == "keras3"
    assert train(dirs, "--steps", "20", run="old") == 0
    model = load_checkpoint(RunDir(runs, "old").latest_checkpoint(),
                            RunDir(runs, "old").read_config())
    assert type(model.optimizer) is keras.optimizers.RMSprop
    assert current_step(model) == 20


@pytest.mark.jax
def test_fused_step_auto_is_on_where_the_backend_has_it(monkeypatch):
    """TensorFlow and JAX (the two backends of this suite) have the fused
    step: "auto" turns it on; on another backend it stays off."""
    model = building.build_model(tiny_config(fused_step="auto"))
    assert model.fused_step is True
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    assert building.fused_step_on(tiny_config(fused_step="auto")) is False


@pytest.mark.trains
def test_make_samples_writes_grids_from_latest_checkpoint(dirs, trained):
    runs, samples, dir_args = dirs
    trained("--steps", "10")
    for png in (samples / "t").glob("*.png"):
        png.unlink()
    assert cli.main(["samples", "--run", "t", *dir_args]) == 0
    names = sorted(p.name for p in (samples / "t").glob("*.png"))
    assert names == ["interpolation_step0000010.png", "random_step0000010.png",
                     "reconstruction_step0000010.png"]


@pytest.mark.trains
def test_fresh_moves_the_old_run_aside(dirs, trained):
    runs, samples, _ = dirs
    trained("--steps", "10")
    assert train(dirs, "--steps", "10", "--fresh") == 0
    archived = [p for p in runs.iterdir() if p.name.startswith("t.old-")]
    assert len(archived) == 1 and RunDir(runs, archived[0].name).checkpoint_steps() == [10]
    assert RunDir(runs, "t").checkpoint_steps() == [10]


def test_a_crash_while_writing_a_checkpoint_keeps_the_previous_one(dirs):
    runs, _, _ = dirs
    config = load_preset("shapes", **TINY_OVERRIDES)
    model = building.build_model(config)
    run_dir = RunDir(runs, "c")
    save_checkpoint(run_dir, model, 10, keep=3)
    before = run_dir.checkpoint_path(10).read_bytes()

    class Crashing:
        generator, encoder = model.generator, model.encoder
        weights, optimizer = model.weights, model.optimizer  # checked finite first

        def save(self, path):
            with open(path, "wb") as f:
                f.write(b"half a zip")
            raise OSError("disk full")

    with pytest.raises(OSError):
        save_checkpoint(run_dir, Crashing(), 20, keep=3)
    assert run_dir.checkpoint_steps() == [10]
    assert list(run_dir.checkpoints.iterdir()) == [run_dir.checkpoint_path(10)]
    assert run_dir.checkpoint_path(10).read_bytes() == before
    assert load_checkpoint(run_dir.latest_checkpoint(), config).z_dim == 8


@pytest.mark.slow  # 40 steps, 4 checkpoints (test_ema prunes too)
@pytest.mark.trains
def test_old_checkpoints_are_pruned(dirs):
    runs, _, _ = dirs
    assert train(dirs, "--steps", "40", "--keep-checkpoints", "2") == 0
    assert RunDir(runs, "t").checkpoint_steps() == [30, 40]


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["--data", "nope"], ["unknown data/preset 'nope'", "shapes"]),
        (["--resolution", "48"], ["resolution 48 is not a power of two"]),
        (["--z-dim", "2"], ["z_dim 2 is below 3"]),
    ],
)
def test_bad_settings_are_one_line_errors_and_create_nothing(dirs, capsys, args, fragments):
    runs, samples, _ = dirs
    assert train(dirs, "--steps", "10", *args) == 1
    one_line_error(capsys, *fragments)
    assert not runs.exists() and not samples.exists()


@pytest.mark.trains
def test_corrupt_checkpoint_is_an_error_that_overwrites_nothing(dirs, trained, capsys):
    runs, _, _ = dirs
    trained("--steps", "10")
    run_dir = RunDir(runs, "t")
    run_dir.checkpoint_path(10).write_bytes(b"not a zip file")
    metrics = run_dir.metrics_path.read_bytes()
    capsys.readouterr()
    assert train(dirs, "--steps", "20") == 1
    one_line_error(capsys, "ckpt-0000010.keras is unreadable", "--fresh")
    assert run_dir.checkpoint_path(10).read_bytes() == b"not a zip file"
    assert run_dir.checkpoint_steps() == [10]
    assert run_dir.metrics_path.read_bytes() == metrics


@pytest.mark.slow  # two resumes that train and trace (~29 s): make test-all
@pytest.mark.trains
def test_foreign_checkpoint_is_moved_aside_and_refused_alone(dirs, trained, capsys):
    runs, _, _ = dirs
    trained("--steps", "10")
    run_dir = RunDir(runs, "t")
    from ogan_tf.model.networks import build_generator

    build_generator(32, 8, channels=16).save(run_dir.checkpoint_path(30))
    capsys.readouterr()
    assert train(dirs, "--steps", "20") == 0  # from step 10, the one before
    told = capsys.readouterr()
    assert "ckpt-0000030.keras holds a Functional, not an ogan-tf" in told.err  # a warning
    assert "resuming run 't' from step 10" in told.out
    assert run_dir.checkpoint_steps() == [10, 20]
    assert (run_dir.checkpoints / "broken" / "ckpt-0000030.keras").is_file()
    # The only checkpoint foreign: an error that moves nothing.
    for step in run_dir.checkpoint_steps():
        run_dir.checkpoint_path(step).unlink()
    build_generator(32, 8, channels=16).save(run_dir.checkpoint_path(30))
    assert train(dirs, "--steps", "40") == 1
    one_line_error(capsys, "no checkpoint of run 't' loads",
                   "ckpt-0000030.keras holds a Functional, not an ogan-tf", "--fresh")
    assert run_dir.checkpoint_steps() == [30]


@pytest.mark.trains
def test_resume_refuses_a_different_model(dirs, trained, capsys):
    trained("--steps", "10")
    capsys.readouterr()
    assert train(dirs, "--steps", "20", "--z-dim", "16") == 1
    one_line_error(capsys, "z_dim=8, not 16", "another RUN")


def test_samples_of_unknown_run(dirs, capsys):
    assert cli.main(["samples", "--run", "ghost", *dirs[2]]) == 1
    one_line_error(capsys, "no run 'ghost'", "make train RUN=ghost")


@pytest.mark.trains
@pytest.mark.slow
def test_command_line_entry_point_exits_1_without_traceback_and_speaks_first(tmp_path):
    """As a user starts it (TF_CPP_MIN_LOG_LEVEL unset): our one line is all
    of stderr, though the command imports TensorFlow (cli/quiet.py)."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    out = subprocess.run(
        [sys.executable, "-m", "ogan_tf", "train", "--data", "nope",
         "--runs-dir", str(tmp_path / "runs")],
        capture_output=True, text=True, env=env,
    )
    assert out.returncode == 1  # a runtime error; 2 is a usage error
    assert "Traceback" not in out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("ogan-tf: error: unknown data/preset"), out.stderr


@pytest.mark.slow  # two runs of another preset: ~10 CPU s
@pytest.mark.trains
def test_resume_without_data_keeps_the_runs_own_preset(dirs, capsys):
    runs, _, _ = dirs
    assert train(dirs, "--steps", "10", "--data", "shapes_author") == 0
    assert train(dirs, "--steps", "20") == 0  # no --data: the run's own preset
    assert RunDir(runs, "t").read_config().preset == "shapes_author"
    assert RunDir(runs, "t").checkpoint_steps() == [10, 20]
    capsys.readouterr()
    assert train(dirs, "--steps", "30", "--data", "shapes") == 1
    one_line_error(capsys, "preset='shapes_author', not 'shapes'")


@pytest.mark.trains
def test_fresh_with_bad_settings_moves_nothing(dirs, trained, capsys):
    runs, _, _ = dirs
    trained("--steps", "10")
    capsys.readouterr()
    assert train(dirs, "--steps", "10", "--fresh", "--resolution", "48") == 1
    one_line_error(capsys, "power of two")
    assert sorted(p.name for p in runs.iterdir()) == ["t"]
    assert RunDir(runs, "t").checkpoint_steps() == [10]


@pytest.mark.trains
@pytest.mark.jax(slow=True)
@only_on("jax")
def test_fused_step_on_another_backend_is_a_one_line_error_that_moves_nothing(
        dirs, capsys, monkeypatch):
    """TensorFlow and JAX have the fused step; the check refuses any other
    backend (here the run's checks see a pretend "torch" backend; one pass of
    the suite is enough for a backend-neutral check)."""
    runs, samples, _ = dirs
    assert train(dirs, "--steps", "10") == 0
    capsys.readouterr()
    import keras

    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    for args in (["--fresh", "--fused-step"], ["--fused-step"]):  # a new run, a resumed one
        assert train(dirs, "--steps", "20", *args) == 1
        one_line_error(capsys, "fused_step needs the TensorFlow or JAX backend",
                       "drop --fused-step")
    monkeypatch.undo()
    assert sorted(p.name for p in runs.iterdir()) == ["t"]
    assert sorted(p.name for p in samples.iterdir()) == ["t"]
    assert RunDir(runs, "t").checkpoint_steps() == [10]
    assert json.loads((runs / "t" / "config.json").read_text())["steps"] == 10
