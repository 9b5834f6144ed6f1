"""Scaling out (distribute.py): the maths under replication and the files.

TensorFlow: MirroredStrategy over the two logical CPU devices conftest makes,
and two MultiWorkerMirroredStrategy processes on localhost. JAX: the
data-parallel distribution over two XLA CPU devices, in a subprocess (the
device count is fixed when JAX starts).
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from ogan_tf import cli
from ogan_tf.config import load_preset
from ogan_tf.data import sources
from ogan_tf.errors import ConfigError
from ogan_tf.training import building, distribute
from ogan_tf.training import train as training

from conftest import TINY, TINY_SETTINGS, one_line_error, only_on, training_batches

on_tf = only_on("tensorflow")  # tf.distribute runs on the TensorFlow backend
TINY_CONFIG = dict(TINY_SETTINGS, dataset_size=64)


def _state(model):
    """Every weight of G and E (trainable and BN statistics) as numpy."""
    return [np.array(w) for w in model.generator.get_weights() + model.encoder.get_weights()]


def _one_step(config, start_weights, x):
    """One fit step on the global batch x from `start_weights`, under
    config.strategy, with SGD(learning_rate=1): the weights move by exactly
    minus the gradient applied (RMSprop would hide a wrong gradient scale:
    its step does not depend on it)."""
    import tensorflow as tf

    placement = distribute.place(config)
    with placement.scope():
        model = training.build_model(config)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0))
        model.set_weights(start_weights)
    building.set_speed_options(model, config)  # compile() set XLA anew
    history = model.fit(tf.data.Dataset.from_tensors(x).repeat(), steps_per_epoch=1,
                        epochs=1, verbose=0)
    return _state(model), {k: v[-1] for k, v in history.history.items()}


def _norm(arrays):
    return np.sqrt(sum(float((np.asarray(a, np.float64) ** 2).sum()) for a in arrays))


def _compare(config, start_weights, x):
    """(relative error, largest weight change) of the mirrored step against
    the single-device step: the error is |w_mirrored - w_single| over all of
    G's and E's weights (BN statistics included), relative to how far the
    single-device step moved them."""
    before = _start_state(config, start_weights)
    single, single_logs = _one_step(config, start_weights, x)
    mirrored, mirrored_logs = _one_step(config.replace(strategy="mirrored"), start_weights, x)
    error = _norm([m - s for m, s in zip(mirrored, single)])
    moved = _norm([s - b for s, b in zip(single, before)])
    worst = max(float(np.abs(m - s).max()) for m, s in zip(mirrored, single))
    largest = max(float(np.abs(s - b).max()) for s, b in zip(single, before))
    return error / moved, worst / largest, single_logs, mirrored_logs


def _start_state(config, start_weights):
    model = training.build_model(config)
    model.set_weights(start_weights)
    return _state(model)


def _setup(**settings):
    config = load_preset("shapes", **{**TINY_CONFIG, **settings})
    start = training.build_model(config).get_weights()  # G and E (the z seed state is not a weight)
    x = np.random.default_rng(3).uniform(-1, 1, (8, 32, 32, 3)).astype(np.float32)
    return config, start, x


@pytest.mark.trains
@on_tf
# Two replicas against one device (~20 s each): both steps in make test-all.
@pytest.mark.slow
@pytest.mark.parametrize("fused_step", [
    pytest.param(False, id="keras_step"),
    pytest.param(True, id="fused_step")])
def test_mirrored_step_equals_the_single_device_step_on_the_same_global_batch(fused_step):
    config, start, x = _setup(sync_batchnorm=True, fused_step=fused_step)
    assert distribute.place(config.replace(strategy="mirrored")).replicas == 2
    relative, worst, single_logs, mirrored_logs = _compare(config, start, x)
    # Float noise is ~1e-6; half or twice the gradient, or one BN update too
    # few, is > 1e-3.
    assert relative < 1e-4 and worst < 1e-4, (relative, worst)
    for key in ("loss", "t1", "z_corr"):
        assert mirrored_logs[key] == pytest.approx(single_logs[key], rel=1e-4, abs=1e-6)


@pytest.mark.slow  # the control of the test above: ~16 CPU s
@pytest.mark.trains
@on_tf
def test_per_replica_batchnorm_gives_another_step():
    """The control: BN over each replica's own half of the batch changes the
    step (the author's graph, one device, normalises over all 8)."""
    config, start, x = _setup()
    relative, _, _, _ = _compare(config, start, x)
    assert relative > 1e-2


@pytest.mark.trains
@on_tf
def test_each_replica_draws_its_own_rows_of_the_single_device_z():
    import tensorflow as tf

    config = load_preset("shapes", **TINY_CONFIG, strategy="mirrored")
    placement = distribute.place(config)
    with placement.scope():
        model = training.build_model(config)
    state = model.seed_generator.state.numpy()
    per_replica = placement.strategy.run(tf.function(lambda: model.draw_z(4)))
    a, b = (t.numpy() for t in placement.strategy.experimental_local_results(per_replica))
    assert not np.allclose(a, b)
    # Every replica's copy of the seed state moved the same way.
    copies = [v.numpy() for v in model.seed_generator.state.value.values]
    assert all(np.array_equal(c, copies[0]) for c in copies)
    assert not np.array_equal(copies[0], state)
    model.seed_generator.state.assign(state)
    np.testing.assert_array_equal(np.concatenate([a, b]), model.draw_z(8).numpy())


def _images(dataset, batches):
    rows = np.concatenate([b.numpy() for b in dataset.take(batches)])
    return {r.tobytes() for r in rows}, len(rows)


def test_input_pipelines_read_disjoint_shares_of_the_training_set(tmp_path):
    # The generated set: 64 images, 2 pipelines of 32, one pass each.
    config = load_preset("shapes", **TINY_CONFIG)
    shares = [_images(training_batches(config, shard=(i, 2), batch_size=4), 8)
              for i in range(2)]
    (a, n_a), (b, n_b) = shares
    assert n_a == len(a) == 32 and n_b == len(b) == 32  # no image twice in a pass
    assert not a & b and len(a | b) == 64

    # A folder: 20 images of distinct colours, 4 held out, 16 to share.
    import imageio.v3 as iio

    folder = tmp_path / "images"
    folder.mkdir()
    for k in range(20):
        iio.imwrite(folder / f"{k:02d}.png", np.full((32, 32, 3), 10 * k, np.uint8))
    config = load_preset("folder", data_path=str(folder), resolution=32, batch_size=4)
    # (Decoding is parallel and may mix passes: read two of them.)
    colours = [{int(np.round((img[0, 0, 0] + 1) * 127.5)) for img in np.concatenate(
        [b.numpy() for b in training_batches(config, shard=(i, 2), batch_size=4).take(4)])}
        for i in range(2)]
    held = {10 * int(k) for k in sources.split(20)[0]}
    assert len(colours[0]) == len(colours[1]) == 8 and not colours[0] & colours[1]
    assert colours[0] | colours[1] == {10 * k for k in range(20)} - held


@pytest.mark.slow  # two replicas traced, then a resume: ~50 CPU s
@pytest.mark.trains
@on_tf
def test_mirrored_run_from_the_command_line_then_resumed_on_one_device(dirs, capsys):
    runs, samples, dir_args = dirs
    args = ["train", "--run", "m", "--steps", "20", "--log-every", "10",
            "--sample-every", "10", "--checkpoint-every", "10", *TINY, "--ema-decays", "0.9",
            "--export-at-end", "none", *dir_args]
    # --jit-compile on is turned off under mirrored, with a warning
    assert cli.main([*args, "--strategy", "mirrored", "--sync-batchnorm",
                     "--jit-compile", "on"]) == 0
    assert "XLA (jit_compile) is off under --strategy mirrored" in capsys.readouterr().err
    ckpt = runs / "m" / "checkpoints" / "ckpt-0000020.keras"
    assert ckpt.exists() and len(list((samples / "m").glob("random_*.png"))) == 2
    assert (runs / "m" / "checkpoints" / "ckpt-0000020.ema-0.9.weights.h5").exists()
    # Saved files never carry synchronized=True: they load anywhere.
    import zipfile

    assert '"synchronized": true' not in zipfile.ZipFile(ckpt).read("config.json").decode()
    assert cli.main([*args[:4], "30", *args[5:]]) == 0  # strategy none
    rows = [json.loads(line) for line in (runs / "m" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [10, 20, 30]


@on_tf
@pytest.mark.parametrize("args, fragments", [
    (["--strategy", "data-parallel"], ["jax backend", "mirrored or multi-worker"]),
    (["--strategy", "multi-worker"], ["TF_CONFIG", "missing"]),
    (["--strategy", "mirrored", "--batch-size", "7"], ["batch_size 7", "2 replicas"]),
])
def test_strategy_errors_are_one_line_and_create_nothing(dirs, capsys, monkeypatch, args,
                                                         fragments):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    runs, _, dir_args = dirs
    assert cli.main(["train", "--run", "e", *TINY, *args, *dir_args]) == 1
    one_line_error(capsys, *fragments)
    assert not (runs / "e").exists()


@pytest.mark.jax(slow=True)
@only_on("jax")
@pytest.mark.parametrize("strategy", ["mirrored", "multi-worker"])
def test_tf_distribute_strategies_on_jax_are_one_line_errors(dirs, capsys, strategy):
    runs, _, dir_args = dirs
    assert cli.main(["train", "--run", "e", *TINY, "--strategy", strategy, *dir_args]) == 1
    one_line_error(capsys, "tensorflow backend", "data-parallel")
    assert not (runs / "e").exists()


def test_placement_rejects_a_batch_that_does_not_split():
    placement = distribute.Placement("mirrored", None, replicas=4)
    with pytest.raises(ConfigError, match="multiple of 4"):
        distribute._check_batch(load_preset("shapes", batch_size=6), placement)


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    return {**env, "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def _two_workers(steps, runs, samples):
    """Run `ogan-tf train` as two MultiWorkerMirroredStrategy workers on
    localhost; returns their outputs (both must exit 0)."""
    workers = [f"localhost:{p}" for p in _free_ports(2)]
    command = [sys.executable, "-m", "ogan_tf", "train", "--run", "mw", "--steps", str(steps),
               "--log-every", "10", "--sample-every", "10", "--checkpoint-every", "10",
               *TINY, "--strategy", "multi-worker",
               "--runs-dir", str(runs), "--samples-dir", str(samples)]
    procs = [
        subprocess.Popen(command, env=_env(TF_CONFIG=json.dumps(
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for i in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=300)[0] for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0, 0], outputs
    return outputs


@pytest.mark.trains
@on_tf
@pytest.mark.slow
def test_two_worker_processes_train_resume_and_leave_one_set_of_files(tmp_path):
    runs, samples = tmp_path / "runs", tmp_path / "samples"
    chief, other = _two_workers(20, runs, samples)
    assert "multi-worker: 2 replicas, worker 0 of 2" in chief
    assert "worker 1: done, 20 steps" in other and "the chief wrote" in other
    chief, other = _two_workers(30, runs, samples)  # both resume the chief's step 20
    assert "resuming run 'mw' from step 20" in chief and "worker 1: done, 10 steps" in other
    run = runs / "mw"
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        f"ckpt-00000{s}.keras" for s in (10, 20, 30)]
    assert sorted(p.name for p in (samples / "mw").iterdir()) == sorted(
        f"{kind}_step{s:07d}.png" for kind in ("random", "reconstruction", "interpolation")
        for s in (10, 20, 30))
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [10, 20, 30]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs", "samples"]
    assert sorted(p.name for p in runs.iterdir()) == ["mw"]


JAX_CHECK = textwrap.dedent("""
    import json, sys
    import keras, numpy as np
    from ogan_tf.training import building, distribute
    from ogan_tf.config import load_preset

    def step(config, start, x):
        placement = distribute.place(config)
        model = building.build_model(config)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0))
        model.set_weights(start)
        model.fit(x, epochs=1, batch_size=len(x), shuffle=False, verbose=0)
        return placement.replicas, [np.array(w) for w in model.get_weights()]

    base = load_preset("shapes", channels=16, z_dim=8, batch_size=8, dataset_size=64,
                       fused_step=False, jit_compile="auto", ema_decays=())
    start = building.build_model(base).get_weights()
    x = np.random.default_rng(3).uniform(-1, 1, (8, 32, 32, 3)).astype(np.float32)
    n1, single = step(base, start, x)
    n2, parallel = step(base.replace(strategy="data-parallel"), start, x)
    def norm(arrays):
        return float(np.sqrt(sum((np.asarray(a, np.float64) ** 2).sum() for a in arrays)))

    moved = norm([a - b for a, b in zip(single, start)])
    diff = norm([a - b for a, b in zip(single, parallel)])
    print(json.dumps({"replicas": [n1, n2], "moved": moved, "diff": diff}))
    # The command line on the same two devices (in this process: JAX fixes
    # its device count when it starts).
    from ogan_tf import cli
    sys.exit(cli.main(sys.argv[1:]))
""")


@pytest.mark.trains
@pytest.mark.slow
def test_jax_data_parallel_step_equals_the_single_device_step(tmp_path):
    env = _env(KERAS_BACKEND="jax", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    runs, samples = tmp_path / "runs", tmp_path / "samples"
    train = ["train", "--run", "dp", "--steps", "10", "--log-every", "5", "--sample-every", "10",
             "--checkpoint-every", "10", *TINY, "--strategy", "data-parallel",
             "--runs-dir", str(runs), "--samples-dir", str(samples)]
    out = subprocess.run([sys.executable, "-c", JAX_CHECK, *train], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[0])
    assert result["replicas"] == [1, 2]
    assert result["moved"] > 1e-3 and result["diff"] < 1e-4 * result["moved"], result
    assert "data-parallel: 2 replicas" in out.stdout
    assert (runs / "dp" / "checkpoints" / "ckpt-0000010.keras").exists()
    assert len(list((samples / "dp").glob("*.png"))) == 3
