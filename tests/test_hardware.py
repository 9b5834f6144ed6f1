"""The device line of a training log and the warnings before a long run."""

import keras
import pytest

from ogan_tf.training import callbacks, hardware

from conftest import tiny_config


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(hardware, "accelerators", lambda: ())


def test_describe_names_the_backend_and_the_devices():
    line = hardware.describe()
    assert line.startswith(f"backend: {keras.backend.backend()} (")
    assert f"keras {keras.__version__}" in line
    assert "devices: " in line and ("GPU" in line or "the CPU (" in line)


def test_a_gpu_preset_on_the_cpu_warns_and_a_small_one_does_not(no_gpu):
    assert hardware.warnings(tiny_config()) == []  # 32 px: a CPU setting
    big = tiny_config(resolution=128)
    assert hardware.gpu_setting_on_cpu(big)
    (line,) = hardware.warnings(big)
    assert "128 px is a GPU setting" in line and "make install GPU=1" in line


def test_a_gpu_preset_on_a_gpu_is_silent(monkeypatch):
    monkeypatch.setattr(hardware, "accelerators", lambda: ("GPU:0 (test)",))
    config = tiny_config(resolution=128, precision="mixed_bfloat16")
    assert not hardware.gpu_setting_on_cpu(config) and hardware.warnings(config) == []


@pytest.mark.parametrize("flags, warned", [
    (frozenset({"avx2"}), True),
    (frozenset({"avx2", "avx512_bf16"}), False),
    (frozenset({"amx_bf16"}), False),
])
def test_bfloat16_on_a_cpu_without_it_warns(no_gpu, monkeypatch, flags, warned):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: flags)
    lines = hardware.warnings(tiny_config(precision="mixed_bfloat16"))
    assert any("SLOWER than float32" in line for line in lines) == warned
    assert any("mixed_float16 is for GPUs" in line
               for line in hardware.warnings(tiny_config(precision="mixed_float16")))


def test_progress_line_says_step_rate_and_time_left():
    assert callbacks.progress_line(300, 10_500, 10.0) == (
        "step 300/10,500 (2.9%), 10.00 steps/s, 17 min 00 s left")
    assert callbacks.progress_line(0, 100_000, 10.0).endswith("2 h 46 min left")
    assert callbacks.progress_line(95, 100, 2.0).endswith("2 s left")


def test_progress_is_logged_every_interval_from_the_first(monkeypatch):
    """Every epoch end logs a line; the first interval's rate counts from the
    end of the first step (its time holds the compiling), the next ones
    their own interval; the hint comes once, on the first line."""
    now = [10.0]  # every step of an epoch ends at one time, then the clock moves
    monkeypatch.setattr(callbacks.time, "perf_counter", lambda: now[0])
    lines = []
    callback = callbacks.LogProgress(0, 100, lines.append, hint="a GPU helps")
    for epoch, epoch_end in enumerate([14.0, 16.0]):
        for batch in range(5):
            callback.on_train_batch_begin(batch)
        now[0] = epoch_end
        callback.on_epoch_end(epoch)
    callback.on_train_end()
    assert lines == ["step 5/100 (5.0%), 1.00 steps/s, 1 min 35 s left; a GPU helps",
                     "step 10/100 (10.0%), 2.50 steps/s, 36 s left"]


def test_xla_is_off_under_tf_distribute_with_a_warning():
    """The shapes preset asks for XLA; under mirrored or multi-worker TF's XLA
    cannot compile the step (each replica's z seed state is on its own
    device), so it is off there, said once, as Keras' own auto does."""
    from ogan_tf.training import train as training

    config = tiny_config(jit_compile=True, strategy="mirrored")
    assert hardware.xla_on(config) is False
    assert any("XLA (jit_compile) is off under --strategy mirrored" in line
               for line in hardware.warnings(config))
    model = training.build_model(config)
    assert model.jit_compile is False
    assert hardware.xla_on(config.replace(strategy="none")) is True
    assert hardware.xla_on(config.replace(strategy="data-parallel")) is True  # JAX: one program
    assert hardware.xla_on(config.replace(jit_compile="auto")) == "auto"
    assert not any("XLA" in line for line in hardware.warnings(config.replace(strategy="none")))
