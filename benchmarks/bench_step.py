"""Training images/s and peak memory: a plain port of the author's step vs ours.

    python benchmarks/bench_step.py                 # the full table (make bench)
    python benchmarks/bench_step.py --quick         # fewer, shorter timed runs
    python benchmarks/bench_step.py --sizes 64:64 --modes plain,fastest

Modes (each runs in its own process, so memory peaks and dtype policies do
not mix):
  plain    the author's step ported as plainly as possible and kept here: the
           same G and E, three E passes, one GradientTape, one summed loss,
           RMSprop, a tf.function, float32. It shares only the networks and
           the input pipeline with the package.
  fit      our path, ogan_tf.train.training: build_model + fit_steps (Keras fit)
           with Config's defaults (the author's computation: the plain step,
           XLA as Keras decides, float32). Older result files call it "default".
  preset   fit with the default preset's own speed settings (shapes: the
           fused step and XLA together, float32)
  bf16     fit + precision=mixed_bfloat16
  fused    fit + fused_step=true
  fastest  fused_step=true and mixed_bfloat16 (where bfloat16 is native:
           train/hardware.py's rule, a GPU or a CPU with AVX512-BF16 or AMX;
           float32 otherwise)

Each mode trains `warmup` runs (tracing, oneDNN caches) then `repeats` timed
runs of `steps` steps; it reports the median images/s (min-max beside it) and
the process's peak resident memory (and the GPU's peak where there is one).
Sizes are resolution:batch pairs with z_dim = resolution and dcgan_5x5.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

SIZES = "64:64,128:16"
MODES = "plain,fit,preset,fastest"
SPEED_SETTINGS = ("precision", "fused_step", "jit_compile")  # what "preset" takes
OVERRIDES = {
    "fit": {},
    "preset": None,  # the default preset's SPEED_SETTINGS (preset_speed_settings)
    "bf16": {"precision": "mixed_bfloat16"},
    "fused": {"fused_step": True},
    "fastest": {"fused_step": True, "precision": "mixed_bfloat16"},
}


def preset_speed_settings():
    """The default preset's own speed settings, as it trains."""
    from ogan_tf.config import DEFAULT_PRESET, load_preset

    preset = load_preset(DEFAULT_PRESET)
    return {name: getattr(preset, name) for name in SPEED_SETTINGS}


def bench_config(resolution, batch, mode):
    from ogan_tf.config import Config

    overrides = preset_speed_settings() if mode == "preset" else dict(OVERRIDES.get(mode, {}))
    if mode == "fastest" and not fast_bf16_available():
        overrides.pop("precision")
    return Config(
        resolution=resolution, z_dim=resolution, batch_size=batch, variant="dcgan_5x5",
        dataset_size=max(8 * batch, 256), **overrides,
    )


def fast_bf16_available():
    """bfloat16 is fast here: a GPU, or a CPU that computes it natively (the
    rule train/hardware.py warns by)."""
    from ogan_tf.train import hardware

    return bool(hardware.accelerators()) or hardware.native_bfloat16()


# --- (a) the plain port ------------------------------------------------------
def plain_step_fn(config):
    """The author's train step, written out as a plain TF port."""
    import keras
    import tensorflow as tf

    from ogan_tf.core.networks import build_encoder, build_generator

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


def time_plain(config, dataset, steps, runs):
    step = plain_step_fn(config)
    batches = iter(dataset)
    seconds, cpu = [], []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), cpu_seconds()
        for _ in range(steps):
            loss = step(next(batches))
        float(loss)  # wait for the device
        seconds.append(time.perf_counter() - began)
        cpu.append(cpu_seconds() - began_cpu)
    return seconds, cpu


# --- (b), (c) our fit path -------------------------------------------------------
def time_fit(config, dataset, steps, runs):
    from ogan_tf.train.training import build_model

    return time_fit_model(build_model(config), dataset, steps, runs)


def child(mode, resolution, batch, steps, warmup, repeats):
    """Measure one mode at one size; print one JSON line."""
    import tensorflow as tf

    from ogan_tf.data.pipeline import training_dataset
    from ogan_tf.data.sources import open_source

    config = bench_config(resolution, batch, "fit" if mode == "plain" else mode)
    dataset = training_dataset(open_source(config), config)
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    timer = time_plain if mode == "plain" else time_fit
    seconds, cpu = timer(config, dataset, steps, warmup + repeats)
    rates = sorted(steps * batch / s for s in seconds[warmup:])
    row = {
        "img_cpu_s": statistics.median(steps * batch / s for s in cpu[warmup:]),
        "mode": mode, "resolution": resolution, "batch": batch,
        "precision": config.precision, "fused_step": config.fused_step,
        "jit_compile": config.jit_compile,
        "img_s": statistics.median(rates), "img_s_min": rates[0], "img_s_max": rates[-1],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mb": rss_start,
    }
    if tf.config.list_physical_devices("GPU"):
        row["gpu_peak_mb"] = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
    print("RESULT " + json.dumps(row), flush=True)


def grid_cost(steps):
    """Share of training time the sample grids take at the default preset's
    interval: one SampleGrids.write against sample_every training steps."""
    from ogan_tf.data.pipeline import training_dataset
    from ogan_tf.data.sources import open_source
    from ogan_tf.config import DEFAULT_PRESET, load_preset
    from ogan_tf.train.training import build_model
    from ogan_tf.use.grids import sample_grids
    import tempfile

    config = load_preset(DEFAULT_PRESET, dataset_size=1024)
    model = build_model(config)
    (seconds, cpu) = time_fit_model(model, training_dataset(open_source(config), config), steps, 3)
    step_s, step_cpu = statistics.median(seconds[1:]) / steps, statistics.median(cpu[1:]) / steps
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


def time_fit_model(model, dataset, steps, runs):
    """(wall seconds, CPU seconds) of each `steps`-step Keras epoch of our fit."""
    import keras

    from ogan_tf.train.training import fit_steps

    times = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.began = (time.perf_counter(), cpu_seconds())

        def on_epoch_end(self, epoch, logs=None):
            times.append((time.perf_counter() - self.began[0], cpu_seconds() - self.began[1]))

    fit_steps(model, dataset, 0, steps * runs, steps, [Timer()])
    return [t for t, _ in times], [c for _, c in times]


def run_child(mode, resolution, batch, args):
    cmd = [
        sys.executable, __file__, "--child", mode, str(resolution), str(batch),
        "--steps", str(args.steps), "--warmup", str(args.warmup),
        "--repeats", str(args.repeats),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    sys.stderr.write(proc.stdout[-2000:] + proc.stderr[-4000:])
    raise SystemExit(f"bench: mode {mode} at {resolution} px failed (exit {proc.returncode})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=SIZES, help=f"res:batch,... (default {SIZES})")
    parser.add_argument("--modes", default=MODES,
                        help=f"comma list of plain,{','.join(OVERRIDES)} (default {MODES})")
    parser.add_argument("--steps", type=int, default=5, help="steps per timed run")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs (median)")
    parser.add_argument("--quick", action="store_true",
                        help="short mode: --steps 3 --repeats 3")
    parser.add_argument("--json", help="also append the rows to this JSON-lines file")
    parser.add_argument("--grid-cost", action="store_true",
                        help="also measure the sample grids' share of training time "
                             "(default preset, its sample_every)")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "RES", "BATCH"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child and args.child[0] == "grids":
        return grid_cost(args.steps)
    if args.child:
        mode, res, batch = args.child
        return child(mode, int(res), int(batch), args.steps, args.warmup, args.repeats)
    if args.quick:
        args.steps, args.repeats = 3, 3
    modes = args.modes.split(",")
    unknown = [m for m in modes if m != "plain" and m not in OVERRIDES]
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(unknown)}")
    from ogan_tf.train import hardware

    print(f"bench: {args.repeats} timed runs of {args.steps} steps after {args.warmup} "
          f"warm-up run(s); CPU native bfloat16: {hardware.native_bfloat16()}; "
          f"cores: {os.cpu_count()}")
    header = f"{'size':>12} {'mode':>8} {'precision':>15} {'fused':>5} {'xla':>5} " \
             f"{'img/s':>7} {'(min-max)':>13} {'peak RSS':>9} {'x plain':>7} " \
             f"{'img/CPU-s':>9} {'x plain':>7}"
    print(header)
    for size in args.sizes.split(","):
        resolution, batch = (int(v) for v in size.split(":"))
        base = base_cpu = None
        for mode in modes:
            row = run_child(mode, resolution, batch, args)
            if mode == "plain":
                base, base_cpu = row["img_s"], row["img_cpu_s"]
            row["x_plain"] = row["img_s"] / base if base else None
            row["x_plain_cpu"] = row["img_cpu_s"] / base_cpu if base_cpu else None
            ratio = f"{row['x_plain']:.2f}x" if base else "-"
            ratio_cpu = f"{row['x_plain_cpu']:.2f}x" if base_cpu else "-"
            print(f"{resolution:>4} px b{batch:<4} {mode:>8} {row['precision']:>15} "
                  f"{str(row['fused_step']).lower():>5} "
                  f"{str(row.get('jit_compile', '-')).lower():>5} {row['img_s']:7.1f} "
                  f"({row['img_s_min']:5.1f}-{row['img_s_max']:5.1f}) "
                  f"{row['peak_rss_mb']:6.0f} MB {ratio:>7} {row['img_cpu_s']:9.1f} "
                  f"{ratio_cpu:>7}", flush=True)
            if args.json:
                with open(args.json, "a") as f:
                    f.write(json.dumps(row) + "\n")
    if args.grid_cost:
        row = run_child("grids", 0, 0, argparse.Namespace(**{**vars(args), "steps": 20}))
        print(f"grids: one write (3 PNGs) {row['grid_write_s']:.2f} s (first, with tracing, "
              f"{row['first_grid_write_s']:.2f} s); a step {row['step_s'] * 1000:.0f} ms; "
              f"share of training at sample_every={row['sample_every']}: "
              f"{100 * row['grid_share']:.2f}% (CPU time: {100 * row['grid_share_cpu']:.2f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
