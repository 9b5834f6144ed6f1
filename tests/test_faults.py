"""Runs that survive (docs/faults.md): kills, Ctrl-C and SIGTERM, divergence,
broken checkpoints, two trainers on one run, a full disk. The damage is
done for real: processes are killed, files cut short, writes fail with
ENOSPC."""

import errno
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from ogan_tf import cli
from ogan_tf.config import load_preset
from ogan_tf.errors import DiskFullError, DivergedError, RunStopped
from ogan_tf.inference import export
from ogan_tf.runs import files
from ogan_tf.runs import lock as run_lock
from ogan_tf.runs import models as run_models
from ogan_tf.runs.files import atomic_write
from ogan_tf.runs.folder import RunDir
from ogan_tf.runs.models import load_checkpoint
from ogan_tf.runs.names import ema_weight_paths, export_temporary_names
from ogan_tf.training import train as training
from ogan_tf.training.building import build_model
from ogan_tf.training.callbacks import StepCallback

from conftest import TINY, TINY_SETTINGS, one_line_error, only_on

ROOT = Path(__file__).resolve().parent.parent
SHORT = ["--log-every", "5", "--sample-every", "1000", "--checkpoint-every", "5",
         "--export-at-end", "none"]
TINY_RUN = dict(TINY_SETTINGS, log_every=5, sample_every=1000, checkpoint_every=5,
                export_at_end="none")


def train(dirs, *args, run="f"):
    return cli.main(["train", *TINY, *SHORT, "--run", run, *dirs[2], *args])


@pytest.fixture
def trained(trained_run):
    """trained(*args): as train(dirs, *args) == 0, from the session's copy."""
    return lambda *args, run="f": trained_run(*TINY, *SHORT, "--run", run, *args)


def trainer(dirs, steps, *args, run="f"):
    """`ogan-tf train` in a child process (this worktree's package)."""
    command = [sys.executable, "-m", "ogan_tf", "train", *TINY, *SHORT, "--run", run,
               *dirs[2], "--steps", str(steps), *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def wait_for(condition, process, timeout=180):
    began = time.time()
    while not condition():
        if process.poll() is not None or time.time() - began > timeout:
            return False
        time.sleep(0.05)
    return True


def check_run_is_sound(run_dir):
    """Every checkpoint loads at its own step; metrics steps strictly increase;
    no temporary file is left; returns the checkpoint steps."""
    config = run_dir.read_config()
    steps = run_dir.checkpoint_steps()
    for step in steps:
        model = load_checkpoint(run_dir.checkpoint_path(step), config)
        assert int(np.asarray(model.optimizer.iterations)) == step
    rows = [r["step"] for r in run_dir.read_metrics()]
    assert rows == sorted(set(rows)), rows  # increasing, no duplicate rows
    return steps


def temporaries(folder):
    return sorted(str(p) for p in Path(folder).rglob(".tmp-*"))


class At(StepCallback):
    """Calls action(model, step) at the end of step `at` (a test's fault)."""

    def __init__(self, at, action):
        super().__init__(0)
        self.at, self.action = at, action

    def on_train_begin(self, logs=None):
        self.step = int(np.asarray(self.model.optimizer.iterations))

    def on_step_end(self, step):
        if step == self.at:
            self.action(self.model, step)


# Kills ----------------------------------------------------------------------
@pytest.mark.trains
@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_every_time(dirs):
    runs, _, _ = dirs
    run_dir, rng, steps, kills, outputs = RunDir(runs, "f"), random.Random(13), 300, 0, []
    for _ in range(3):
        before = run_dir.checkpoint_steps()
        process = trainer(dirs, steps)
        # Let it make progress (a new checkpoint), then kill it at a random moment.
        wait_for(lambda: run_dir.checkpoint_steps()[-1:] != before[-1:], process)
        time.sleep(rng.uniform(0.0, 1.5))
        process.kill()
        outputs.append(process.communicate()[0])
        kills += process.returncode == -signal.SIGKILL
        check_run_is_sound(run_dir)
    assert kills >= 2, outputs
    process = trainer(dirs, steps)
    out = process.communicate(timeout=300)[0]
    assert process.returncode == 0, out
    assert "resuming run 'f' from step" in out
    assert "taking the lock over" in out  # the killed trainer's lock was stale
    assert check_run_is_sound(run_dir)[-1] == steps
    assert run_dir.read_metrics()[-1]["step"] == steps
    assert not temporaries(runs) and not (run_dir.path / "lock").exists()


@pytest.mark.trains
@pytest.mark.slow
def test_sigterm_saves_the_step_in_flight_and_a_second_trainer_is_refused(dirs, capsys):
    runs, _, _ = dirs
    run_dir = RunDir(runs, "f")
    process = trainer(dirs, 5000, "--checkpoint-every", "10", "--log-every", "10")
    try:
        assert wait_for(lambda: run_dir.checkpoint_steps(), process), process.communicate()
        metrics = run_dir.metrics_path.read_bytes()
        # A second trainer on the same run stops at once and changes nothing.
        assert train(dirs, "--steps", "5000") == 1
        one_line_error(capsys, f"is being trained by process {process.pid} on host",
                       str(run_dir.path / "lock"))
        assert run_dir.metrics_path.read_bytes()[:len(metrics)] == metrics
        process.send_signal(signal.SIGTERM)
        out = process.communicate(timeout=120)[0]
    finally:
        process.kill()
    assert process.returncode == 143, out
    last = out.strip().splitlines()[-1]
    assert last.startswith("ogan-tf: stopped by SIGTERM at step "), out
    step = int(last.split("at step ")[1].split()[0])
    # No step lost: the stopped step is checkpointed, with its metrics row;
    # the checkpoints before it are the regular ones, every 10 steps.
    saved = run_dir.checkpoint_steps()
    assert saved[-1] == step and all(s % 10 == 0 and s < step for s in saved[:-1]), saved
    assert run_dir.read_metrics()[-1]["step"] == step
    assert not (run_dir.path / "lock").exists()
    messages = []
    resumed = training.start_run(runs, dirs[1], "f", None, {"steps": step + 3},
                                 log=messages.append)
    assert resumed.start_step == step
    training.train(resumed, dirs[1])
    assert check_run_is_sound(run_dir)[-1] == step + 3


# Ctrl-C in this process -----------------------------------------------------------
@pytest.mark.slow  # a run stopped mid-step by a signal (~16 s): make test-all
@pytest.mark.trains
@pytest.mark.jax
def test_ctrl_c_saves_the_step_in_flight_and_ignores_a_second_while_saving(
        dirs, capfd, monkeypatch):
    runs, samples, _ = dirs
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN where the shell started us in the background
    settings = dict(TINY_RUN, steps=40, ema_decays=(0.9,))
    run = training.start_run(runs, samples, "f", "shapes", settings)
    real_save = run_models.save_checkpoint

    def save_and_be_interrupted(run_dir, model, step, *args):
        if step == 8:  # the save after the stop: Ctrl-C again while it writes
            os.kill(os.getpid(), signal.SIGINT)
        return real_save(run_dir, model, step, *args)

    monkeypatch.setattr(run_models, "save_checkpoint", save_and_be_interrupted)
    ctrl_c = At(7, lambda model, step: os.kill(os.getpid(), signal.SIGINT))
    with pytest.raises(RunStopped, match="stopped by Ctrl-C .* at step 8 of 40") as stop:
        training.train(run, samples, callbacks=[ctrl_c])
    assert stop.value.status == 130
    err = capfd.readouterr().err
    assert "Ctrl-C (SIGINT): stopping after the step in flight" in err
    assert "Ctrl-C (SIGINT) ignored: finishing writing the checkpoint of step 8" in err
    assert signal.getsignal(signal.SIGINT) is before  # restored
    run_dir = RunDir(runs, "f")
    assert run_dir.checkpoint_steps() == [5, 8]  # step 8 was in flight at the signal
    assert list(ema_weight_paths(run_dir.checkpoint_path(8))) == [0.9]
    assert [r["step"] for r in run_dir.read_metrics()] == [5, 8]  # the partial epoch's row
    assert not (run_dir.path / "lock").exists()

    monkeypatch.setattr(run_models, "save_checkpoint", real_save)
    resumed = training.start_run(runs, samples, "f", None, {"steps": 12})
    assert resumed.start_step == 8
    training.train(resumed, samples)
    assert check_run_is_sound(run_dir) == [8, 10, 12]  # keep_checkpoints 3
    assert [r["step"] for r in run_dir.read_metrics()] == [5, 8, 12]


@pytest.mark.slow  # two replicas traced: ~14 CPU s
@pytest.mark.trains
@only_on("tensorflow")
def test_ctrl_c_under_mirrored_replicas_saves_the_step_in_flight(dirs):
    runs, samples, _ = dirs
    run = training.start_run(runs, samples, "f", "shapes",
                             dict(TINY_RUN, steps=40, strategy="mirrored"))
    assert run.placement.replicas == 2
    ctrl_c = At(3, lambda model, step: os.kill(os.getpid(), signal.SIGINT))
    with pytest.raises(RunStopped, match="at step 4 of 40"):
        training.train(run, samples, callbacks=[ctrl_c])
    assert check_run_is_sound(RunDir(runs, "f")) == [4]


# Divergence -----------------------------------------------------------------
@pytest.mark.trains
@pytest.mark.jax(slow=True)
def test_a_planted_nan_stops_the_run_and_is_never_saved(dirs):
    runs, samples, _ = dirs
    run = training.start_run(runs, samples, "f", "shapes", dict(TINY_RUN, steps=40))

    def plant_nan(model, step):
        if keras.backend.backend() == "jax":
            model.jax_state_sync()  # the variables hold this step's weights
        kernel = model.generator.weights[0]
        kernel.assign(np.full(kernel.shape, np.nan, "float32"))

    with pytest.raises(DivergedError) as err:
        training.train(run, samples, callbacks=[At(7, plant_nan)])
    run_dir = RunDir(runs, "f")
    message = str(err.value)
    assert "training diverged by step 10: the weights hold NaN" in message
    assert f"last good checkpoint is {run_dir.checkpoint_path(5)}" in message
    assert f"--learning-rate {run.config.learning_rate / 2:g}" in message and "\n" not in message
    assert run_dir.checkpoint_steps() == [5]  # step 10's checkpoint was refused
    assert check_run_is_sound(run_dir) == [5]
    assert not (run_dir.path / "lock").exists()


@pytest.mark.slow  # three runs (the planted NaN is make test's divergence)
@pytest.mark.trains
def test_a_diverging_learning_rate_stops_with_one_line_and_resumes_lower(dirs, trained, capsys):
    runs, _, _ = dirs
    run_dir = RunDir(runs, "f")
    trained("--steps", "10")
    assert train(dirs, "--steps", "40", "--learning-rate", "1e6") == 1
    one_line_error(capsys, "training diverged by step 15", "hold NaN or infinite values",
                   "loss nan", "in the Keras epoch ending at step 15",
                   f"last good checkpoint is {run_dir.checkpoint_path(10)}",
                   "--learning-rate 500000")
    assert run_dir.checkpoint_steps() == [5, 10]
    rows = run_dir.read_metrics()
    assert rows[-1]["step"] == 15 and math.isnan(rows[-1]["loss"])  # the evidence
    # The learning rate may change on resume: a lower one goes on from step 10.
    assert train(dirs, "--steps", "15", "--learning-rate", "5e-5") == 0
    assert "resuming run 'f' from step 10" in capsys.readouterr().out
    assert run_dir.read_config().learning_rate == 5e-5
    model = load_checkpoint(run_dir.checkpoint_path(15), run_dir.read_config())
    assert float(np.asarray(model.optimizer.learning_rate)) == pytest.approx(5e-5)
    assert [r["step"] for r in run_dir.read_metrics()] == [5, 10, 15]
    assert all(math.isfinite(r["loss"]) for r in run_dir.read_metrics())


# Broken checkpoints -----------------------------------------------------------
@pytest.mark.trains
def test_a_truncated_newest_checkpoint_is_moved_aside_and_the_one_before_resumes(
        dirs, trained, capsys):
    runs, _, _ = dirs
    run_dir = RunDir(runs, "f")
    trained("--steps", "10")
    newest = run_dir.checkpoint_path(10)
    cut = newest.read_bytes()[: newest.stat().st_size // 2]
    newest.write_bytes(cut)
    capsys.readouterr()
    assert train(dirs, "--steps", "15") == 0
    told = capsys.readouterr()
    broken = run_dir.checkpoints / "broken" / newest.name
    warning = "ckpt-0000010.keras is unreadable"  # a warning: on stderr
    assert warning in told.err and f"moved to {broken}" in told.err
    assert "resuming run 'f' from step 5" in told.out
    assert broken.read_bytes() == cut  # kept, never deleted
    assert check_run_is_sound(run_dir) == [5, 10, 15]
    assert [r["step"] for r in run_dir.read_metrics()] == [5, 10, 15]


# One trainer per run ----------------------------------------------------------
def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.trains
def test_a_stale_lock_of_a_dead_process_is_taken_over(dirs, capsys):
    runs, _, _ = dirs
    lock = runs / "f" / "lock"
    lock.parent.mkdir(parents=True)
    pid = _dead_pid()
    lock.write_text(json.dumps({"pid": pid, "host": socket.gethostname(), "since": "then"}))
    assert train(dirs, "--steps", "5") == 0
    out = capsys.readouterr().err
    assert f"warning: run 'f' was locked by process {pid}" in out
    assert "which no longer runs; taking the lock over" in out
    assert not lock.exists()  # released at the end


@pytest.mark.slow  # trains a run, then refuses it (~14 s): make test-all
@pytest.mark.trains
def test_a_lock_of_another_host_is_refused_and_nothing_changes(dirs, trained, capsys):
    runs, _, _ = dirs
    trained("--steps", "5")
    lock = runs / "f" / "lock"
    lock.write_text(json.dumps({"pid": 1, "host": "elsewhere", "since": "noon"}))
    before = sorted(p.name for p in (runs / "f").rglob("*"))
    capsys.readouterr()
    for args in ([], ["--fresh"]):
        assert train(dirs, "--steps", "10", *args) == 1
        one_line_error(capsys, "run 'f' is being trained by process 1 on host 'elsewhere'",
                       "remove the file")
    assert sorted(p.name for p in (runs / "f").rglob("*")) == before
    assert sorted(p.name for p in runs.iterdir()) == ["f"]  # --fresh moved nothing


@pytest.mark.trains
def test_the_lock_is_released_after_an_error(dirs, trained, capsys):
    runs, _, _ = dirs
    trained("--steps", "5")
    (runs / "f" / "checkpoints" / "ckpt-0000005.keras").write_bytes(b"junk")
    assert train(dirs, "--steps", "10") == 1
    one_line_error(capsys, "no checkpoint of run 'f' loads", "unreadable", "--fresh")
    assert not (runs / "f" / "lock").exists()
    assert (runs / "f" / "checkpoints" / "ckpt-0000005.keras").read_bytes() == b"junk"


def test_a_live_lock_holder_in_this_process_is_not_taken_over(tmp_path):
    path = tmp_path / "lock"
    held = run_lock.acquire(path, "x")
    assert run_lock.acquire(path, "x") is held  # the same trainer opening it again
    fd = os.open(path, os.O_RDWR)  # as another process: the flock is taken
    try:
        assert run_lock._flock(fd) is False
    finally:
        os.close(fd)
    held.release()
    assert not path.exists()
    held.release()  # twice is harmless


def test_a_lock_naming_a_live_process_that_holds_no_flock_is_stale(tmp_path):
    """A reused process id: the process lives, but a trainer would hold the flock."""
    path, messages = tmp_path / "lock", []
    path.write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname()}))
    lock = run_lock.acquire(path, "x", log=messages.append)
    assert json.loads(path.read_text())["pid"] == os.getpid()
    assert messages == [f"warning: run 'x' was locked by process {os.getppid()} on host "
                        f"{socket.gethostname()!r}, which no longer holds it; taking the "
                        "lock over"]
    lock.release()


# A full disk ------------------------------------------------------------------
def enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_atomic_write_on_a_full_disk_keeps_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("old")

    def half_then_full(tmp):
        Path(tmp).write_bytes(b"x" * 3000)
        enospc()

    with pytest.raises(DiskFullError) as err:
        atomic_write(path, half_then_full)
    message = str(err.value)
    assert f"no space left on the device writing {path}: it needs about 3.0 kB" in message
    assert "free there" in message and "\n" not in message
    assert path.read_text() == "old" and sorted(tmp_path.iterdir()) == [path]


def test_a_full_disk_while_appending_metrics_cuts_the_half_row(dirs, monkeypatch):
    runs, _, _ = dirs
    run_dir = RunDir(runs, "f")
    run_dir.path.mkdir(parents=True)
    run_dir.append_metrics({"step": 5})
    real_write = os.write

    def half_then_full(fd, data):
        if os.readlink(f"/proc/self/fd/{fd}") == str(run_dir.metrics_path):
            real_write(fd, bytes(data[:7]))
            enospc()
        return real_write(fd, data)

    monkeypatch.setattr(files.os, "write", half_then_full)
    with pytest.raises(DiskFullError, match="writing .*metrics.jsonl: it needs about"):
        run_dir.append_metrics({"step": 10, "loss": 1.0})
    monkeypatch.undo()
    assert run_dir.metrics_path.read_text() == '{"step": 5}\n'
    # A row cut short by a kill is dropped on resume, and appends go on cleanly.
    with open(run_dir.metrics_path, "a") as f:
        f.write('{"step": 10, "lo')
    assert [r["step"] for r in run_dir.read_metrics()] == [5]
    run_dir.truncate_metrics(5)
    run_dir.append_metrics({"step": 10})
    assert [r["step"] for r in run_dir.read_metrics()] == [5, 10]


@pytest.mark.trains
def test_a_full_disk_at_a_checkpoint_stops_the_run_in_one_line(dirs, capsys, monkeypatch):
    runs, samples, _ = dirs
    run_dir = RunDir(runs, "f")
    real_replace = os.replace

    def full_at_step_10(src, dst):
        if Path(dst).name.startswith("ckpt-0000010"):
            enospc()
        return real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", full_at_step_10)
    assert train(dirs, "--steps", "20", "--ema-decays", "0.9") == 1
    one_line_error(capsys, "no space left on the device writing",
                   "ckpt-0000010.ema-0.9.weights.h5: it needs about", "kB, ", "free there",
                   "--keep-checkpoints", "resumes from ckpt-0000005.keras")
    # The checkpoint before is intact, no file of step 10 nor a temporary is left.
    assert sorted(p.name for p in run_dir.checkpoints.iterdir()) == [
        "ckpt-0000005.ema-0.9.weights.h5", "ckpt-0000005.keras"]
    assert check_run_is_sound(run_dir) == [5]
    assert not temporaries(runs) and not (run_dir.path / "lock").exists()


@pytest.mark.trains
def test_a_full_disk_skips_grids_with_a_warning_and_trains_on(dirs, capsys, monkeypatch):
    runs, samples, _ = dirs
    real_replace = os.replace

    def full_for_pngs(src, dst):
        if str(dst).endswith(".png"):
            enospc()
        return real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", full_for_pngs)
    assert train(dirs, "--steps", "10", "--sample-every", "5") == 0
    out = capsys.readouterr().err
    assert "warning: the grids of step 5 are skipped: no space left" in out
    assert "the grids of step 10 are skipped" in out
    assert not list((samples / "f").iterdir()) and not temporaries(samples)
    assert RunDir(runs, "f").checkpoint_steps() == [5, 10]


@pytest.mark.trains
def test_a_full_disk_during_an_export_keeps_the_previous_export(tmp_path, monkeypatch):
    config = load_preset("shapes", **TINY_RUN)
    model = build_model(config)
    out = tmp_path / "export"
    export.export_models(model.generator, model.encoder, out, {"run": "x"}, saved_model=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real_save = keras.Model.save

    def full_at_generator(self, path, *args, **kwargs):
        if Path(path).name == "generator.keras":
            Path(path).write_bytes(b"half")
            enospc()
        return real_save(self, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", full_at_generator)
    with pytest.raises(DiskFullError, match="writing .*export: it needs about .* previous "
                                            "export is intact"):
        export.export_models(model.generator, model.encoder, out, {"run": "x"},
                             saved_model=False)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_a_full_disk_is_recognised_in_other_libraries_messages():
    assert files.is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert files.is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert files.is_disk_full(RuntimeError("Can't write data (file write failed: errno = 28)"))
    try:
        try:
            enospc()
        except OSError as inner:
            raise ValueError("saving failed") from inner
    except ValueError as outer:
        assert files.is_disk_full(outer)
    assert not files.is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert files.size_text(512) == "512 bytes" and files.size_text(12_345_678) == "12.3 MB"


@pytest.mark.slow  # a run with its export, then a resume: ~14 CPU s
@pytest.mark.trains
def test_a_killed_export_is_cleared_when_training_starts(dirs, capsys):
    runs, _, _ = dirs
    assert train(dirs, "--steps", "5", "--export-at-end", "keras") == 0
    run_dir = RunDir(runs, "f")
    pid = _dead_pid()
    # Killed between the swap's two renames: the old export is aside, a new one half made.
    building, replaced = export_temporary_names(pid)
    old = run_dir.path / replaced
    os.replace(run_dir.path / "export", old)
    (run_dir.path / (building + "abc")).mkdir()
    (run_dir.path / (building + "abc") / "generator.keras").write_bytes(b"half")
    assert train(dirs, "--steps", "10") == 0
    assert sorted(p.name for p in run_dir.path.iterdir()) == [
        "checkpoints", "config.json", "export", "metrics.jsonl"]


AGREE = """
import json, sys
from ogan_tf.training import distribute
placement = distribute._multi_worker()
flags = json.loads(sys.argv[1])[placement.worker]
print(json.dumps([placement.any_worker(flag) for flag in flags]), flush=True)
"""


@pytest.mark.trains
@pytest.mark.slow
@only_on("tensorflow")
def test_multi_worker_processes_agree_to_stop_when_one_was_signalled():
    """RunGuard's agreement at an epoch's end: two MultiWorkerMirroredStrategy
    processes stop together when either was signalled, and only then."""
    sockets = [socket.socket() for _ in range(2)]
    for s in sockets:
        s.bind(("localhost", 0))
    workers = [f"localhost:{s.getsockname()[1]}" for s in sockets]
    for s in sockets:
        s.close()
    flags = [[False, True, False], [False, False, False]]  # worker 0 signalled once
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    procs = [subprocess.Popen(
        [sys.executable, "-c", AGREE, json.dumps(flags)], cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**env, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
             "TF_CONFIG": json.dumps({"cluster": {"worker": workers},
                                      "task": {"type": "worker", "index": i}})})
        for i in range(2)]
    try:
        outputs = [p.communicate(timeout=240) for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs] == [
        [False, True, False]] * 2


@pytest.mark.trains
def test_the_guard_and_the_run_callbacks_read_nothing_per_step(dirs):
    """A callback overriding on_train_batch_end makes Keras read every step's
    logs from the device; the run's one step end, the guard in it, does not."""
    runs, samples, _ = dirs
    run = training.start_run(runs, samples, "f", "shapes", dict(TINY_RUN, steps=5))
    try:
        with training.StopSignals(run.model) as signals:
            end = training.step_end(run, samples, training.DataStats(), signals, print)
    finally:
        run.release()
    assert end.writes is not None and end.guard.stop is signals
    base = keras.callbacks.Callback
    for hook in ("on_train_batch_end", "on_batch_end"):
        assert getattr(type(end), hook) is getattr(base, hook), hook
