"""GPU benchmark without TensorFlow: our OGAN step on KERAS_BACKEND=jax beside
a plain PyTorch port of the author's step, on the same GPU.

    python benchmarks/bench_gpu.py torch [--res 128 --batch 64]
    KERAS_BACKEND=jax python benchmarks/bench_gpu.py keras [--res 128 --batch 64]

--preset NAME takes the networks and loss settings of an experiments/ preset
(at --res and --batch where given), e.g. celeba_hq_256 for the 256 px EMA
script's step; without it: dcgan_5x5, z_dim = res, the author's 128 px loss.
--smoke shrinks the networks of both (widest layer 32 channels) for a CPU
check.

Each backend runs in its own process (JAX and PyTorch would fight over GPU
memory). Both read float32 batches from a host numpy array of random images
(the same host -> device copy each step); z is drawn on the device. Images/s
is the median over timed runs of `steps` steps after one warm-up run
(compilation); each row is printed as one JSON line.

keras modes (our package, ogan_tf.training.train):
  fit_f32       build_model + fit_steps (our run callbacks), float32 (default)
  fit_bf16      the same with precision=mixed_bfloat16
  fused_f32     fit_f32 with the fused step (fused_step=true)
  fastest       the fused step and mixed_bfloat16
  sync_bf16     fit_bf16 plus a callback overriding on_train_batch_end (which
                ours avoid): Keras then reads every step's logs
  bare_bf16     mixed_bfloat16, plain Keras fit without our run callbacks
  bare_bf16_spe the same with steps_per_execution=8
torch modes (the plain port: same networks and loss, three E passes, one
summed loss, RMSprop, eager PyTorch):
  plain_f32     float32 (PyTorch's default: TF32 convolutions allowed)
  plain_f32_strict  float32 with TF32 off (cudnn.allow_tf32 = False): IEEE
                float32 convolutions, like for like with XLA's float32
  plain_bf16    the same under torch.autocast(bfloat16)
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np


def host_images(n, res, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (n, res, res, 3)).astype(np.float32)


def cpu_seconds():
    """This process's user + system CPU time (host work beside the wall clock)."""
    t = os.times()
    return t.user + t.system


def report(row, out):
    print(json.dumps(row), flush=True)
    if out:
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")


# --- our package on Keras (JAX) ----------------------------------------------------
def bench_keras(args):
    import keras

    from ogan_tf.training.train import build_model, fit_steps

    backend = keras.backend.backend()

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds, self.cpu = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.perf_counter()
            self.began_cpu = cpu_seconds()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.began)
            self.cpu.append(cpu_seconds() - self.began_cpu)
            self.logs = logs

    class SyncEveryStep(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    for mode in args.modes.split(","):
        runner, precision, fused = KERAS_MODES[mode]
        config = keras_config(args, precision, fused)
        x = host_images(config.batch_size * args.steps, config.resolution)
        model = build_model(config)
        timer = EpochTimer()
        runs = 1 + args.repeats
        began = time.perf_counter()
        if runner in ("fit", "sync"):
            # Our training path: Keras fit with the run's step callbacks.
            dataset = _repeat_batches(x, config.batch_size)
            extra = [SyncEveryStep()] if runner == "sync" else []
            fit_steps(model, dataset, 0, args.steps * runs, args.steps, [timer, *extra])
        else:
            model.steps_per_execution = 8 if runner == "bare_spe" else 1
            model.fit(x, batch_size=config.batch_size, epochs=runs, shuffle=False,
                      callbacks=[timer], verbose=0)
        rates = sorted(args.steps * config.batch_size / s for s in timer.seconds[1:])
        report({
            "kind": "step", "tag": args.tag, "backend": backend, "mode": mode,
            "precision": precision,
            "fused": fused, "preset": args.preset, "variant": config.variant,
            "z_dim": config.z_dim, "res": config.resolution, "batch": config.batch_size,
            "steps": args.steps, "repeats": args.repeats,
            "img_s": statistics.median(rates), "img_s_min": rates[0], "img_s_max": rates[-1],
            "first_run_s": timer.seconds[0], "total_s": time.perf_counter() - began,
            "timed_s": sum(timer.seconds[1:]), "timed_cpu_s": sum(timer.cpu[1:]),
            "z_corr": float(timer.logs.get("z_corr", float("nan"))),
            "peak_mb": _jax_peak_mb() if backend == "jax" else None,
            "device": _jax_device() if backend == "jax" else None,
            "jax_matmul_precision": os.environ.get("JAX_DEFAULT_MATMUL_PRECISION", "default"),
        }, args.out)
        del model
        keras.backend.clear_session()


# mode -> (how it trains, precision, fused step); the runners: fit = our fit
# path (fit_steps with the run's step callbacks), sync = fit plus a callback
# overriding on_train_batch_end, bare = plain Keras fit, bare_spe = the same
# with steps_per_execution=8.
KERAS_MODES = {
    "fit_f32": ("fit", "float32", False),
    "fit_bf16": ("fit", "mixed_bfloat16", False),
    "fused_f32": ("fit", "float32", True),
    "fastest": ("fit", "mixed_bfloat16", True),
    "sync_bf16": ("sync", "mixed_bfloat16", False),
    "bare_bf16": ("bare", "mixed_bfloat16", False),
    "bare_bf16_spe": ("bare_spe", "mixed_bfloat16", False),
}
SMOKE_CHANNELS = 32  # --smoke: the widest layer, so a CPU runs the modes in seconds


def keras_config(args, precision, fused):
    """The Config a keras mode trains: --preset's networks and loss (its
    resolution and batch unless --res/--batch), or the author's 128 px DCGAN."""
    from ogan_tf.config import Config, load_preset

    speed = {"precision": precision, "fused_step": fused, "ema_decays": ()}
    if args.smoke:
        speed["channels"] = SMOKE_CHANNELS
    if args.preset:
        return load_preset(args.preset, resolution=args.res, batch_size=args.batch, **speed)
    res = args.res or 128
    return Config(resolution=res, z_dim=res, batch_size=args.batch or 64,
                  variant="dcgan_5x5", **speed)


def _repeat_batches(x, batch):
    """An endless Python generator of batches (fit_steps sets the epochs)."""
    def gen():
        while True:
            for i in range(0, len(x) - batch + 1, batch):
                yield (x[i:i + batch],)
    return gen()


def _jax_peak_mb():
    import jax

    stats = jax.devices()[0].memory_stats() or {}
    return stats.get("peak_bytes_in_use", 0) / 2**20


def _jax_device():
    import jax

    return str(jax.devices()[0].device_kind)


# --- the plain PyTorch port ------------------------------------------------------
def torch_networks(res, z_dim, torch, widest=None):
    """The author's DCGAN 5x5 G and E (as ogan_tf.model.networks), NCHW;
    widest: the widest layer's channels (the author's res * 8)."""
    nn = torch.nn
    num_layers = int(math.log2(res)) - 3
    widest = widest or res * 8
    first = res // 2 ** (num_layers + 1)

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            layers, c_in = [], 3
            for i in range(num_layers + 1):
                c = widest // 2 ** (num_layers - i)
                layers.append(nn.Conv2d(c_in, c, 5, stride=2, padding=2))
                if i > 0:
                    layers.append(nn.BatchNorm2d(c, momentum=0.01, eps=1e-3))
                layers.append(nn.LeakyReLU(0.2))
                c_in = c
            self.body = nn.Sequential(*layers)
            self.code = nn.Linear(c_in * first * first, z_dim)

        def forward(self, x):
            return self.code(self.body(x).flatten(1))

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.project = nn.Linear(z_dim, first * first * widest)
            self.bn0 = nn.BatchNorm2d(widest, momentum=0.01, eps=1e-3)
            layers, c_in = [], widest
            for i in range(num_layers):
                c = widest // 2 ** (i + 1)
                layers += [nn.ConvTranspose2d(c_in, c, 5, 2, padding=2, output_padding=1),
                           nn.BatchNorm2d(c, momentum=0.01, eps=1e-3), nn.ReLU()]
                c_in = c
            layers += [nn.ConvTranspose2d(c_in, 3, 5, 2, padding=2, output_padding=1),
                       nn.Tanh()]
            self.body = nn.Sequential(*layers)

        def forward(self, z):
            h = self.project(z).view(-1, widest, first, first)
            return self.body(torch.relu(self.bn0(h)))

    G, E = Generator(), Encoder()
    for module in list(G.modules()) + list(E.modules()):
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(module.weight, 0.0, 0.02)
            nn.init.zeros_(module.bias)
    return G, E


def bench_torch(args):
    import torch

    args.res, args.batch = args.res or 128, args.batch or 64

    device = "cuda" if torch.cuda.is_available() else "cpu"
    x_host = torch.from_numpy(host_images(args.batch * args.steps, args.res)).permute(0, 3, 1, 2)
    if device == "cuda":
        x_host = x_host.contiguous().pin_memory()
    z_dim = args.res

    def correlation(a, b):
        a = torch.nn.functional.normalize(a - a.mean(1, keepdim=True), dim=1, eps=1e-6)
        b = torch.nn.functional.normalize(b - b.mean(1, keepdim=True), dim=1, eps=1e-6)
        return (a * b).sum(1)

    for mode in args.modes.split(","):
        torch.manual_seed(0)
        widest = SMOKE_CHANNELS if args.smoke else None
        G, E = (m.to(device) for m in torch_networks(args.res, z_dim, torch, widest))
        params = list(G.parameters()) + list(E.parameters())
        optimizer = torch.optim.RMSprop(params, lr=1e-4, alpha=0.99, eps=1e-7)
        autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=mode == "plain_bf16")
        torch.backends.cudnn.allow_tf32 = mode != "plain_f32_strict"

        def step(x_real):
            z = torch.randn(x_real.shape[0], z_dim, device=device)
            with autocast:
                x_fake = G(z)
                x_fake_ng = x_fake.detach()
                z_real, z_fake, z_fake_ng = E(x_real), E(x_fake), E(x_fake_ng)
            z_real, z_fake, z_fake_ng = z_real.float(), z_fake.float(), z_fake_ng.float()
            x_fake_ng = x_fake_ng.float()
            t1 = z_real.mean(1) - z_fake_ng.mean(1)
            t2 = z_fake.mean(1) - z_fake_ng.mean(1)
            qp = 0.25 * t1**2 / ((x_real - x_fake_ng) ** 2).mean((1, 2, 3))
            z_corr = correlation(z, z_fake)
            loss = (t1 + t2 - 0.5 * z_corr).mean() + qp.mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            return z_corr.mean()

        seconds, cpu = [], []
        began = time.perf_counter()
        for _ in range(1 + args.repeats):
            t0, cpu0 = time.perf_counter(), cpu_seconds()
            for i in range(args.steps):
                batch = x_host[i * args.batch:(i + 1) * args.batch].to(device, non_blocking=True)
                z_corr = step(batch).detach()
            float(z_corr)  # waits for the device
            seconds.append(time.perf_counter() - t0)
            cpu.append(cpu_seconds() - cpu0)
        rates = sorted(args.steps * args.batch / s for s in seconds[1:])
        report({
            "kind": "step", "tag": args.tag, "backend": "torch " + torch.__version__,
            "mode": mode,
            "precision": "bfloat16" if mode == "plain_bf16" else "float32", "fused": False,
            "preset": None, "variant": "dcgan_5x5", "z_dim": z_dim,
            "res": args.res, "batch": args.batch, "steps": args.steps, "repeats": args.repeats,
            "img_s": statistics.median(rates), "img_s_min": rates[0], "img_s_max": rates[-1],
            "first_run_s": seconds[0], "total_s": time.perf_counter() - began,
            "timed_s": sum(seconds[1:]), "timed_cpu_s": sum(cpu[1:]),
            "z_corr": float(z_corr),
            "peak_mb": torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None,
            "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
            "tf32_conv": torch.backends.cudnn.allow_tf32,
        }, args.out)
        if device == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("which", choices=["keras", "torch"])
    parser.add_argument("--res", type=int, default=None, help="default 128, or the preset's")
    parser.add_argument("--batch", type=int, default=None, help="default 64, or the preset's")
    parser.add_argument("--tag", default=None, help="names the size in the rows (gpu_report.py)")
    parser.add_argument("--preset", default=None, help="keras: an experiments/ preset's step")
    parser.add_argument("--smoke", action="store_true",
                        help=f"widest layer {SMOKE_CHANNELS} channels (a CPU check)")
    parser.add_argument("--steps", type=int, default=20, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs after one warm-up")
    parser.add_argument("--modes", default=None, help="comma list (see the module doc)")
    parser.add_argument("--out", default=os.environ.get("BENCH_OUT"),
                        help="append JSON rows to this file")
    args = parser.parse_args(argv)
    if args.which == "keras":
        args.modes = args.modes or "fit_f32,fit_bf16,sync_bf16,bare_bf16,bare_bf16_spe"
        bench_keras(args)
    else:
        args.modes = args.modes or "plain_f32,plain_bf16"
        bench_torch(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
