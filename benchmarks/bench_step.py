"""Training images/s and peak memory: a plain port of the author's step vs ours.

    python benchmarks/bench_step.py                 # the full table (make bench)
    python benchmarks/bench_step.py --quick         # fewer timed runs
    python benchmarks/bench_step.py --sizes folder@64 --modes plain,fused,fused_xla

Sizes: `shapes` (the default preset's own networks: 32 px, sm_4x4, widest 128,
z_dim 16, batch 64), `folder@RES` (the folder recipe's networks at RES px:
sm_4x4, widest 128, z_dim 64, batch 64), or `RES:BATCH` (dcgan_5x5, z_dim =
RES). Each is trained on generated shapes: the step's speed does not depend on
what the images show.

Modes (each runs in its own process, so memory peaks and dtype policies do
not mix):
  plain      the author's step ported as plainly as possible and kept here: the
             same G and E, three E passes, one GradientTape, one summed loss,
             RMSprop, a tf.function, float32. It shares only the networks and
             the input pipeline with the package.
  fit        our path, ogan_tf.training.train: build_model + fit_steps (Keras
             fit), the author's computation: the plain step, XLA off, float32
  xla        fit with XLA on
  fused      fit with the fused step (the same gradients, one E pass less)
  fused_xla  the fused step with XLA on
  auto       what a run with the presets' `auto` settings trains with here:
             training/speed.py measures the candidates and the row names its choice
  bf16       fit + precision=mixed_bfloat16
  fastest    fused_step=true and mixed_bfloat16 (where bfloat16 is native:
             training/hardware.py's rule, a GPU or a CPU with AVX512-BF16 or AMX;
             float32 otherwise), XLA off

Each mode first trains `warmup` runs (tracing, XLA compiling, oneDNN caches:
their time, less the steady time of as many steps, is the `compile s`
column), then `repeats` timed runs, each of `steps` steps or more, so that
it lasts at least `--min-seconds`; it reports the median images/s (min-max
beside it) and the process's peak resident memory (and the GPU's peak where
there is one).
"""

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SIZES = "shapes,folder@32,folder@64,64:64,128:16"
MODES = "plain,fit,xla,fused,fused_xla,auto"
OVERRIDES = {
    "fit": {"fused_step": False, "jit_compile": False},
    "xla": {"fused_step": False, "jit_compile": True},
    "fused": {"fused_step": True, "jit_compile": False},
    "fused_xla": {"fused_step": True, "jit_compile": True},
    "auto": {"fused_step": "auto", "jit_compile": "auto"},  # resolved by measurement
    "bf16": {"precision": "mixed_bfloat16", "fused_step": False, "jit_compile": False},
    "fastest": {"fused_step": True, "precision": "mixed_bfloat16", "jit_compile": False},
}


def bench_config(size, mode):
    """The Config of one size (see the module's docstring) in one mode."""
    from ogan_tf.config import load_preset

    overrides = dict(OVERRIDES.get(mode, {}))
    if mode == "fastest" and not fast_bf16_available():
        overrides.pop("precision")
    model = {}
    if size == "shapes":
        name = "shapes"
    elif size.startswith("folder@"):
        name, model = "folder", {"resolution": int(size.split("@")[1])}
    else:
        resolution, batch = (int(v) for v in size.split(":"))
        name, model = "folder_author", {"resolution": resolution, "batch_size": batch,
                                        "z_dim": resolution, "variant": "dcgan_5x5"}
    config = load_preset(name, **model, dataset="shapes", data_path="", augment="none",
                         ema_decays=(), steps=1_000_000, **overrides)
    return config.replace(dataset_size=max(8 * config.batch_size, 256))


def fast_bf16_available():
    """bfloat16 is fast here: a GPU, or a CPU that computes it natively (the
    rule training/hardware.py warns by)."""
    from ogan_tf.training import hardware

    return bool(hardware.accelerators()) or hardware.native_bfloat16()


# --- (a) the plain port ------------------------------------------------------
def plain_step_fn(config):
    """The author's train step, written out as a plain TF port."""
    import keras
    import tensorflow as tf

    from ogan_tf.model.networks import build_encoder, build_generator

    args = (config.resolution, config.z_dim, config.variant, config.channels)
    G, E = build_generator(*args), build_encoder(*args)
    optimizer = keras.optimizers.RMSprop(config.learning_rate, rho=config.rmsprop_rho)
    params = G.trainable_variables + E.trainable_variables

    def correlation(a, b):
        a = tf.math.l2_normalize(a - tf.reduce_mean(a, 1, keepdims=True), 1)
        b = tf.math.l2_normalize(b - tf.reduce_mean(b, 1, keepdims=True), 1)
        return tf.reduce_sum(a * b, 1)

    # XLA exactly when our fit path uses it (jit_compile "auto": with a GPU)
    jit = bool(tf.config.list_physical_devices("GPU")) if config.jit_compile == "auto" \
        else bool(config.jit_compile)

    @tf.function(jit_compile=jit)
    def step(x_real):
        z = tf.random.normal((tf.shape(x_real)[0], config.z_dim))
        with tf.GradientTape() as tape:
            x_fake = G(z, training=True)
            x_fake_ng = tf.stop_gradient(x_fake)
            z_real = E(x_real, training=True)
            z_fake = E(x_fake, training=True)
            z_fake_ng = E(x_fake_ng, training=True)
            t1 = tf.reduce_mean(z_real, 1) - tf.reduce_mean(z_fake_ng, 1)
            t2 = tf.reduce_mean(z_fake, 1) - tf.reduce_mean(z_fake_ng, 1)
            qp = 0.25 * t1**2 / tf.reduce_mean((x_real - x_fake_ng) ** 2, [1, 2, 3])
            z_corr = correlation(z, z_fake)
            loss = tf.reduce_mean(t1 + t2 - config.rho_weight * z_corr) + tf.reduce_mean(qp)
        optimizer.apply_gradients(zip(tape.gradient(loss, params), params))
        return loss

    return step


def cpu_seconds():
    """This process's user + system CPU time: on a shared machine it moves
    less with other people's load than the wall clock does."""
    t = os.times()
    return t.user + t.system


def plain_runner(config, dataset):
    """run(n) -> (wall s, CPU s) of n steps of the plain port."""
    step = plain_step_fn(config)
    batches = iter(dataset)

    def run(steps):
        began, began_cpu = time.perf_counter(), cpu_seconds()
        for _ in range(steps):
            loss = step(next(batches))
        float(loss)  # wait for the device
        return time.perf_counter() - began, cpu_seconds() - began_cpu

    return run


# --- our fit path -------------------------------------------------------------
def fit_runner(config, dataset):
    """run(n) -> (wall s, CPU s) of one Keras fit of n steps (our path, with
    the run's model; a later fit reuses the compiled step)."""
    from ogan_tf.training.train import build_model

    return model_runner(build_model(config), dataset)


def model_runner(model, dataset):
    import keras

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.began = (time.perf_counter(), cpu_seconds())

        def on_epoch_end(self, epoch, logs=None):  # Keras has waited for the step's logs
            self.took = (time.perf_counter() - self.began[0], cpu_seconds() - self.began[1])

    def run(steps):
        timer = Timer()
        model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False,
                  callbacks=[timer])
        return timer.took

    return run


def one_batch_dataset(config):
    """One batch of the run's pipeline, repeated: the step alone is timed,
    with a shape that never changes (the input pipeline: make bench-data)."""
    import tensorflow as tf

    from ogan_tf.data.pipeline import training_dataset
    from ogan_tf.data.sources import open_source

    batch = next(iter(training_dataset(open_source(config), config)))
    return tf.data.Dataset.from_tensors(batch).repeat()


def resolve_auto(config):
    """The config a run with `auto` trains with here: training/speed.py's
    choice, measured now (a cache of this child's own, so never reused)."""
    import tempfile

    from ogan_tf.training import distribute, speed

    with tempfile.TemporaryDirectory() as cache:
        os.environ[speed.CACHE_ENV] = cache
        return speed.resolve(config, distribute.place(config), log=print)


def child(mode, size, args):
    """Measure one mode at one size; print one JSON line."""
    import tensorflow as tf

    config = bench_config(size, "fit" if mode == "plain" else mode)
    if mode == "auto":
        config = resolve_auto(config)
    dataset = one_batch_dataset(config)
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    run = (plain_runner if mode == "plain" else fit_runner)(config, dataset)
    warm = [run(args.steps) for _ in range(max(args.warmup, 1))]
    probe = run(args.steps)[0] / args.steps  # a steady step's seconds
    steps = max(args.steps, math.ceil(args.min_seconds / max(probe, 1e-9)))
    timed = [run(steps) for _ in range(args.repeats)]
    batch = config.batch_size
    rates = sorted(steps * batch / wall for wall, _ in timed)
    step_s = statistics.median(wall for wall, _ in timed) / steps
    row = {
        "size": size, "mode": mode, "resolution": config.resolution, "batch": batch,
        "variant": config.variant, "channels": config.channels, "z_dim": config.z_dim,
        "precision": config.precision, "fused_step": config.fused_step,
        "jit_compile": config.jit_compile, "steps": steps,
        "img_s": statistics.median(rates), "img_s_min": rates[0], "img_s_max": rates[-1],
        "img_cpu_s": statistics.median(steps * batch / cpu for _, cpu in timed),
        "compile_s": max(warm[0][0] - args.steps * step_s, 0.0),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mb": rss_start,
    }
    if tf.config.list_physical_devices("GPU"):
        row["gpu_peak_mb"] = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    print("RESULT " + json.dumps(row), flush=True)


def grid_cost(steps):
    """Share of training time the sample grids take at the default preset's
    interval: one SampleGrids.write against sample_every training steps."""
    import tempfile

    from ogan_tf.config import DEFAULT_PRESET, load_preset
    from ogan_tf.data.pipeline import training_dataset
    from ogan_tf.data.sources import open_source
    from ogan_tf.inference.grids import sample_grids
    from ogan_tf.training.train import build_model

    config = load_preset(DEFAULT_PRESET, dataset_size=1024)
    model = build_model(config)
    run = model_runner(model, training_dataset(open_source(config), config))
    times = [run(steps) for _ in range(3)]
    step_s = statistics.median(wall for wall, _ in times[1:]) / steps
    step_cpu = statistics.median(cpu for _, cpu in times[1:]) / steps
    with tempfile.TemporaryDirectory() as tmp:
        writer = sample_grids(config, tmp, "bench")
        writes, writes_cpu = [], []
        for i in range(4):  # the first traces the predict functions (once per run)
            began, began_cpu = time.perf_counter(), cpu_seconds()
            writer.write(model.generator, model.encoder, i)
            writes.append(time.perf_counter() - began)
            writes_cpu.append(cpu_seconds() - began_cpu)
    write_s, write_cpu = statistics.median(writes[1:]), statistics.median(writes_cpu[1:])
    row = {
        "preset": DEFAULT_PRESET, "sample_every": config.sample_every,
        "step_s": step_s, "grid_write_s": write_s, "first_grid_write_s": writes[0],
        "grid_share": write_s / (write_s + config.sample_every * step_s),
        "grid_share_cpu": write_cpu / (write_cpu + config.sample_every * step_cpu),
    }
    print("RESULT " + json.dumps(row), flush=True)


def run_child(mode, size, args):
    cmd = [
        sys.executable, __file__, "--child", mode, size,
        "--steps", str(args.steps), "--warmup", str(args.warmup),
        "--repeats", str(args.repeats), "--min-seconds", str(args.min_seconds),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-4000:])
    raise SystemExit(f"bench: mode {mode} at size {size} failed (exit {proc.returncode})")


def print_row(row, base):
    """One line of the table; base: the plain row at this size (or None)."""
    xla = {True: "on", False: "off"}.get(row["jit_compile"], row["jit_compile"])
    fused = {True: "on", False: "off"}.get(row["fused_step"], row["fused_step"])
    ratio = f"{row['img_s'] / base['img_s']:.2f}x" if base else "-"
    ratio_cpu = f"{row['img_cpu_s'] / base['img_cpu_s']:.2f}x" if base else "-"
    print(f"{row['size']:>10} {row['resolution']:>4} px b{row['batch']:<3} {row['mode']:>9} "
          f"{row['precision']:>15} {fused:>5} {xla:>4} {row['steps']:>5} "
          f"{row['img_s']:7.1f} ({row['img_s_min']:6.1f}-{row['img_s_max']:6.1f}) "
          f"{row['compile_s']:8.1f} {row['peak_rss_mb']:6.0f} MB {ratio:>7} "
          f"{row['img_cpu_s']:9.1f} {ratio_cpu:>7}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=SIZES,
                        help=f"shapes, folder@RES or RES:BATCH, comma-separated (default {SIZES})")
    parser.add_argument("--modes", default=MODES,
                        help=f"comma list of plain,{','.join(OVERRIDES)} (default {MODES})")
    parser.add_argument("--steps", type=int, default=5, help="steps per timed run, at least")
    parser.add_argument("--min-seconds", type=float, default=3.0,
                        help="each timed run lasts at least this long (default 3)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs (median)")
    parser.add_argument("--quick", action="store_true",
                        help="short mode: --repeats 3 --min-seconds 1.5")
    parser.add_argument("--json", help="also append the rows to this JSON-lines file")
    parser.add_argument("--grid-cost", action="store_true",
                        help="also measure the sample grids' share of training time "
                             "(default preset, its sample_every)")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child and args.child[0] == "grids":
        return grid_cost(args.steps)
    if args.child:
        return child(*args.child, args)
    if args.quick:
        args.repeats, args.min_seconds = 3, 1.5
    modes = args.modes.split(",")
    unknown = [m for m in modes if m != "plain" and m not in OVERRIDES]
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(unknown)}")
    from ogan_tf.training import hardware

    print(f"bench: {args.repeats} timed runs of at least {args.steps} steps and "
          f"{args.min_seconds:g} s after {args.warmup} warm-up run(s); CPU: "
          f"{hardware.cpu_name()}, {os.cpu_count()} cores, native bfloat16: "
          f"{hardware.native_bfloat16()}")
    print(f"{'size':>10} {'res':>7} {'batch':<4} {'mode':>9} {'precision':>15} {'fused':>5} "
          f"{'xla':>4} {'steps':>5} {'img/s':>7} {'(min-max)':>15} {'compile s':>8} "
          f"{'peak RSS':>9} {'x plain':>7} {'img/CPU-s':>9} {'x plain':>7}")
    for size in args.sizes.split(","):
        base = None
        for mode in modes:
            row = run_child(mode, size, args)
            if mode == "plain":
                base = row
            print_row(row, base)
            if args.json:
                with open(args.json, "a") as f:
                    f.write(json.dumps(row) + "\n")
    if args.grid_cost:
        row = run_child("grids", "-", argparse.Namespace(**{**vars(args), "steps": 20}))
        print(f"grids: one write (3 PNGs) {row['grid_write_s']:.2f} s (first, with tracing, "
              f"{row['first_grid_write_s']:.2f} s); a step {row['step_s'] * 1000:.0f} ms; "
              f"share of training at sample_every={row['sample_every']}: "
              f"{100 * row['grid_share']:.2f}% (CPU time: {100 * row['grid_share_cpu']:.2f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
