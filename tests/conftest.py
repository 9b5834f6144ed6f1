import atexit
import contextlib
import io
import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# The speed measurement's cache (training/speed.py): the session's own, never ~/.cache.
if "OGAN_CACHE_DIR" not in os.environ:
    os.environ["OGAN_CACHE_DIR"] = tempfile.mkdtemp(prefix="ogan-speed-cache-")
    atexit.register(shutil.rmtree, os.environ["OGAN_CACHE_DIR"], ignore_errors=True)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

# `pytest --cpu-durations=N`: the tests that cost the most CPU time.
from cpu_durations import (  # noqa: E402,F401
    pytest_addoption,
    pytest_runtest_protocol,
    pytest_terminal_summary,
)
from fresh_keras import FreshKeras  # noqa: E402

# tests/test_selection.py collects a file of its own in this process.
pytest_plugins = ["pytester"]

# Two logical CPU devices, so tf.distribute's MirroredStrategy can run two
# replicas in this process (tests/test_distribute.py); it must happen before
# TensorFlow starts. Everything else runs on the first, as on one device.
CPU_DEVICES = 2
if keras.backend.backend() == "tensorflow":
    from ogan_tf.training.distribute import split_cpu

    split_cpu(CPU_DEVICES)

if keras.backend.backend() == "jax":
    import jax

    # Many tests build the same tiny model and compile the same step: a
    # compilation cache for this session compiles each program once.
    _cache = tempfile.mkdtemp(prefix="ogan-jax-cache-")
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)
    jax.config.update("jax_compilation_cache_dir", _cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)

# The one tiny model of the suite: small enough that a training step takes
# milliseconds on a CPU. Settings over the shapes preset (32 px, sm_4x4), as
# train flags, as a Config, and as networks. The preset's speed settings and
# weight EMA are set back to the plain ones: XLA would compile every test's
# step for seconds, and the tests of those settings ask for them by name
# (test_speed, test_ema, test_training's default-recipe test).
# XLA is off on TensorFlow (Keras' own choice on a CPU, and never measured:
# training/speed.py) and as Keras decides on JAX, which always compiles.
TINY_SETTINGS = dict(z_dim=8, channels=16, batch_size=8, dataset_size=256,
                     jit_compile=False if keras.backend.backend() == "tensorflow" else "auto",
                     fused_step=False, ema_decays=())


def flag_value(value):
    """A setting's value as its train flag takes it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    return str(value)


TINY = [part for name, value in TINY_SETTINGS.items()
        for part in ("--" + name.replace("_", "-"), flag_value(value))]


def tiny_config(preset="shapes", **changes):
    """The preset's Config with the tiny settings (and `changes`)."""
    from ogan_tf.config import load_preset

    return load_preset(preset, **{**TINY_SETTINGS, **changes})


def tiny_networks(variant="sm_4x4", resolution=32, encoder_norm="batch"):
    """(G, E) of the tiny model, freshly initialised."""
    from ogan_tf.model.networks import build_encoder, build_generator

    args = (resolution, TINY_SETTINGS["z_dim"], variant, TINY_SETTINGS["channels"])
    return build_generator(*args), build_encoder(*args, norm=encoder_norm)


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


@pytest.fixture
def dirs(tmp_path):
    """--runs-dir/--samples-dir arguments inside a temporary folder."""
    runs, samples = tmp_path / "runs", tmp_path / "samples"
    return runs, samples, ["--runs-dir", str(runs), "--samples-dir", str(samples)]


@pytest.fixture(scope="session")
def fresh_keras():
    """fresh_keras.run(script, *argv): the script's Result in the session's one
    child process that imports plain Keras and never ogan_tf (fresh_keras.py)."""
    child = FreshKeras()
    yield child
    child.close()


@pytest.fixture(scope="session")
def _trained_runs(tmp_path_factory):
    """train(*flags) -> the folder holding runs/ and samples/ of the run that
    `ogan-tf train *flags` makes, trained once per session and never changed
    (tests change copies: the trained_run fixture)."""
    made = {}

    def train(*flags):
        if flags not in made:
            from ogan_tf import cli

            root = tmp_path_factory.mktemp("trained")
            with contextlib.redirect_stdout(io.StringIO()) as out:  # not the test's output
                status = cli.main(["train", *flags, "--runs-dir", str(root / "runs"),
                                   "--samples-dir", str(root / "samples")])
            assert status == 0, out.getvalue()[-2000:]
            made[flags] = root
        return made[flags]

    return train


@pytest.fixture
def trained_run(_trained_runs, dirs):
    """trained_run(*flags): the run `ogan-tf train *flags` makes, in this
    test's runs and samples folders (`dirs`), as if the test had trained it.
    Trained once per session, copied per test: tests that train the same
    tiny run first share its cost, and may change their copy."""
    def copy(*flags):
        root = _trained_runs(*flags)
        for name, target in (("runs", dirs[0]), ("samples", dirs[1])):
            if (root / name).exists():
                shutil.copytree(root / name, target, dirs_exist_ok=True)

    return copy


def one_line_error(capsys, *fragments):
    """The CLI's error contract: one line "ogan-tf: error: ...", no traceback;
    returns that line."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("ogan-tf: error: "), err
    for fragment in fragments:
        assert fragment in last, last
    return last


def training_batches(config, *args, **kwargs):
    """The training pipeline of config's data set (data.pipeline)."""
    from ogan_tf.data import pipeline, sources

    return pipeline.training_dataset(sources.open_source(config), config, *args, **kwargs)


def random_batch(n=8, z_dim=8, seed=0):
    """(x, z) tensors of the backend: n images in [-1, 1] at 32 px and n codes."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 32, 32, 3)).astype(np.float32)
    z = rng.normal(size=(n, z_dim)).astype(np.float32)
    return keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(z)


def gradients(fn, variables):
    """Gradients of each scalar that fn() returns (a dict) with respect to
    variables, on either backend: {name: [numpy array per variable]}, an
    unconnected variable's gradient as zeros. fn is called once."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape(persistent=True) as tape:
            out = fn()
        # Zeros by hand: TF's UnconnectedGradients.ZERO fails on Keras variables.
        return {
            name: [
                np.zeros(v.shape, np.float32) if g is None else np.asarray(g)
                for g, v in zip(tape.gradient(target, variables), variables)
            ]
            for name, target in out.items()
        }
    import jax

    def pure(values):
        # The variables read these values inside the scope: fn becomes a
        # function of them that jax can differentiate.
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return fn()

    # jit: one compiled forward and backward instead of op-by-op dispatch.
    out, vjp = jax.vjp(jax.jit(pure), [v.value for v in variables])
    grads = {}
    for name in out:
        cotangent = {k: (jax.numpy.ones_like if k == name else jax.numpy.zeros_like)(t)
                     for k, t in out.items()}
        grads[name] = [np.asarray(g) for g in vjp(cotangent)[0]]
    return grads


def only_on(backend):
    """Mark a test that needs this Keras backend (tf.distribute needs
    TensorFlow; JAX's refusals of TensorFlow-only settings need JAX): it
    skips on the other."""
    return pytest.mark.skipif(keras.backend.backend() != backend,
                              reason=f"needs the {backend} backend")


def mark_slow_on(backend, items):
    """On JAX, a test whose closest `jax` marker says slow=True is slow there:
    each test compiles its own programs on JAX (10 to 25 CPU seconds for a
    gradient of the tiny model), so make test's JAX pass keeps to one case of
    each piece of backend maths and make test-all runs the rest (setup.cfg)."""
    if backend != "jax":
        return
    for item in items:
        marker = item.get_closest_marker("jax")
        if marker is not None and marker.kwargs.get("slow"):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(tryfirst=True)  # before pytest's -m reads the markers
def pytest_collection_modifyitems(items):
    mark_slow_on(keras.backend.backend(), items)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, _trained_runs):
    """One tiny run trained for 10 steps, shared by the tests that need a
    trained run's folder (the page, the projector): (runs_dir, run name).
    A copy of the session's run "t" that test_use and test_latent copy too."""
    root = tmp_path_factory.mktemp("tiny_run")
    shutil.copytree(_trained_runs(*TINY, "--steps", "10", "--run", "t") / "runs", root / "runs")
    return root / "runs", "t"
