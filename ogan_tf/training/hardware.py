"""What a run computes on: the Keras backend, its devices, and the CPU's
native number formats; the warnings a user needs before a long run.

The log of every run starts with ``describe()``; ``warnings(config)`` says
when a preset meant for a GPU is about to train on a CPU, or a mixed
precision policy will be slower than float32 on this CPU.
"""

import platform
from functools import lru_cache

import keras

GPU_DOCS = "docs/training.md#training-on-a-gpu"
# Settings whose step is made for a GPU: the author's presets (128 px and up)
GPU_RESOLUTION = 128


@lru_cache(maxsize=1)
def accelerators():
    """Names of the GPUs the backend computes on (empty on a CPU)."""
    if keras.backend.backend() == "jax":
        import jax  # the backend's own library

        return tuple(f"{d.platform}:{d.id} ({d.device_kind})" for d in jax.devices()
                     if d.platform != "cpu")
    import tensorflow as tf  # the backend's own library (also tf.data's, on any backend)

    gpus = tf.config.list_physical_devices("GPU")
    names = []
    for i, gpu in enumerate(gpus):
        details = tf.config.experimental.get_device_details(gpu)
        names.append(f"GPU:{i} ({details.get('device_name', 'GPU')})")
    return tuple(names)


@lru_cache(maxsize=1)
def cpu_flags():
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def native_bfloat16():
    """True where the CPU computes bfloat16 natively (AVX512-BF16 or AMX)."""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


def describe():
    """One line: backend, versions and the devices the step runs on."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        version = f"jax {jax.__version__}"
    else:
        import tensorflow as tf

        version = f"tensorflow {tf.__version__}"
    gpus = accelerators()
    where = ", ".join(gpus) if gpus else f"the CPU ({cpu_name()}; no GPU found)"
    return f"backend: {backend} ({version}, keras {keras.__version__}); devices: {where}"


def gpu_setting_on_cpu(config):
    """True when `config` is made for a GPU and no GPU is here."""
    return config.resolution >= GPU_RESOLUTION and not accelerators()


# tf.distribute strategies: XLA cannot compile a step whose variables sit on
# several devices (each replica's z seed state; TensorFlow's XLA known issue
# "tf.Variable on a different device"), and Keras' own "auto" leaves XLA off
# under tf.distribute (keras/src/trainers/trainer.py, _resolve_auto_jit_compile),
# so these runs step without it.
NO_XLA_STRATEGIES = ("mirrored", "multi-worker")


def xla_on(config):
    """config.jit_compile as it applies: True/False, or "auto" (Keras' choice);
    never on under a tf.distribute strategy."""
    if config.strategy in NO_XLA_STRATEGIES:
        return False if config.jit_compile is True else config.jit_compile
    return config.jit_compile


def warnings(config):
    """Lines to show before training `config` on this machine."""
    out = []
    if config.jit_compile is True and not xla_on(config):
        out.append(f"warning: XLA (jit_compile) is off under --strategy {config.strategy}: "
                   "TensorFlow's XLA cannot compile a step whose variables sit on several "
                   "devices; the step is the same without it")
    on_gpu = bool(accelerators())
    if gpu_setting_on_cpu(config):
        out.append(f"warning: {config.resolution} px is a GPU setting and this run trains "
                   f"on the CPU; the time left is logged every "
                   f"{config.log_every} steps. GPU set-up: make install GPU=1 ({GPU_DOCS})")
    if not on_gpu and config.precision == "mixed_bfloat16" and not native_bfloat16():
        out.append("warning: precision mixed_bfloat16 on a CPU without native bfloat16 "
                   "(no AVX512-BF16 or AMX): expect it to be several times SLOWER than "
                   "float32 (measured 0.11x on an AVX2-only CPU); --precision float32 "
                   "--fused-step is the fast exact setting there")
    if not on_gpu and config.precision == "mixed_float16":
        out.append("warning: precision mixed_float16 is for GPUs; on a CPU it is slower "
                   "than float32; use --precision float32")
    return out


def gpu_hint():
    """What the first progress line adds when a GPU preset trains on the CPU."""
    return f"on the CPU; a GPU: make install GPU=1 ({GPU_DOCS})"
