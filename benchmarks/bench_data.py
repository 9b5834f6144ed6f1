"""Input pipeline speed: decoded training images/s, next to what the training
step consumes and next to a plain per-file loader in the author's style.

    make bench-data                    # or: python benchmarks/bench_data.py --help

Builds its own data under /tmp (kept between runs): a folder of 256 px JPEGs
and an LSUN-like LMDB of WebP images (256 px high, 256-384 px wide), both
made of the `shapes` images on textured backgrounds, not noise. Measures, in
one process (the step first, then the loaders in interleaved rounds whose
medians are reported, so that each ratio compares figures taken close
together on a machine whose load drifts):
  - the training step of OGAN at 128 px, the author's dcgan_5x5 settings
    (z_dim 128, batch 64): images/s that fit consumes;
  - data.pipeline.training_dataset on each set at 128 px: images/s delivered;
  - a plain loader as the author's img_generator: one file read, decoded,
    cropped and resized at a time in Python, batched with numpy.
A benchmark, not a test: it asserts nothing; the goal is pipeline >= 3x step
and >= 3x plain loader.
"""

import argparse
import io
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from ogan_tf.config import load_preset  # noqa: E402
from ogan_tf.data import pipeline  # noqa: E402
from ogan_tf.data.shapes import make_shapes  # noqa: E402
from ogan_tf.data.sources import open_source  # noqa: E402

RES = 128


def textured_shapes(n, height, width, seed):
    """n uint8 images: shapes over a smooth random background with grain."""
    rng = np.random.default_rng(seed)
    side = max(height, width)
    out = []
    for lo in range(0, n, 64):
        k = min(64, n - lo)
        shapes, _ = make_shapes(k, side, seed + lo)
        low = rng.uniform(0, 1, (k, 8, 8, 3)).astype(np.float32)
        for i in range(k):
            texture = np.asarray(Image.fromarray((low[i] * 255).astype(np.uint8)).resize(
                (side, side), Image.Resampling.BICUBIC), np.float32)
            grain = rng.normal(0, 8, (side, side, 1))
            image = 0.7 * shapes[i] + 0.3 * texture + grain
            out.append(np.clip(image, 0, 255).astype(np.uint8)[:height, :width])
    return out


def build_fixtures(root, n_jpeg, n_webp):
    root.mkdir(parents=True, exist_ok=True)
    jpeg_dir, lmdb_dir = root / f"jpeg256_{n_jpeg}", root / f"webp_lmdb_{n_webp}"
    if not (jpeg_dir / ".complete").exists():
        print(f"building {n_jpeg} 256 px JPEGs in {jpeg_dir} ...", flush=True)
        jpeg_dir.mkdir(exist_ok=True)
        for i, image in enumerate(textured_shapes(n_jpeg, 256, 256, seed=1)):
            Image.fromarray(image).save(jpeg_dir / f"{i:06d}.jpg", quality=90)
        (jpeg_dir / ".complete").touch()
    if not (lmdb_dir / ".complete").exists():
        import lmdb

        print(f"building an LMDB of {n_webp} WebP images in {lmdb_dir} ...", flush=True)
        rng = np.random.default_rng(2)
        env = lmdb.open(str(lmdb_dir), map_size=1 << 32)
        with env.begin(write=True) as txn:
            for i, image in enumerate(textured_shapes(n_webp, 256, 384, seed=3)):
                width = int(rng.integers(256, 385))
                buf = io.BytesIO()
                Image.fromarray(image[:, :width]).save(buf, "WEBP", quality=75)
                txn.put(f"{i:040x}".encode(), buf.getvalue())
        env.close()
        (lmdb_dir / ".complete").touch()
    return jpeg_dir, lmdb_dir


class PipelineRate:
    """Images/s that pipeline.training_dataset delivers; the pipeline is built and
    warmed up once (tf.data's AUTOTUNE ramps up), then timed per call."""

    def __init__(self, config, seconds, warmup=5.0):
        self.seconds = seconds
        self.it = iter(pipeline.training_dataset(open_source(config), config,
                                                 pipeline.DataStats(lambda m: None),
                                                 log=lambda m: None))
        began = time.perf_counter()
        while time.perf_counter() - began < warmup:
            next(self.it)

    def __call__(self):
        # Drain what was prefetched while others were timed (a burst that
        # would inflate the rate), then count the steady state.
        began = time.perf_counter()
        while time.perf_counter() - began < 1.5:
            next(self.it)
        n, began = 0, time.perf_counter()
        while time.perf_counter() - began < self.seconds:
            n += next(self.it).shape[0]
        rate = n / (time.perf_counter() - began)
        time.sleep(2.0)  # let it refill its buffers now, not while the next one is timed
        return rate


def plain_rate(read, count, crop_max):
    """The author's img_generator: read, decode, crop, resize one at a time."""
    batch, n, began = [], 0, time.perf_counter()
    for i in range(count):
        x = np.asarray(Image.open(io.BytesIO(read(i))).convert("RGB"))
        h, w = x.shape[:2]
        side = min(h, w) if crop_max <= 0 else min(crop_max, h, w)
        top, left = (h - side + 1) // 2, (w - side + 1) // 2
        x = x[top:top + side, left:left + side]
        x = np.asarray(Image.fromarray(x).resize((RES, RES), Image.Resampling.BILINEAR))
        batch.append(x.astype(np.float32) / 255 * 2 - 1)
        if len(batch) == 64:
            np.array(batch)
            n, batch = n + 64, []
    return (n + len(batch)) / (time.perf_counter() - began)


def step_rate(steps):
    """Images/s consumed by OGAN's fit step, 128 px dcgan_5x5, author settings."""
    import tensorflow as tf

    from ogan_tf.training.train import build_model

    config = load_preset("lsun_church")
    model = build_model(config)
    x = tf.random.uniform((config.batch_size, RES, RES, 3), -1, 1)
    ds = tf.data.Dataset.from_tensors(x).repeat()
    model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)  # trace + warm-up
    began = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return steps * config.batch_size / (time.perf_counter() - began)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", default="/tmp/ogan_bench_data")
    parser.add_argument("--jpegs", type=int, default=3000)
    parser.add_argument("--webps", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=8, help="per pipeline measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--plain", type=int, default=400,
                        help="images per round for the plain loader")
    parser.add_argument("--step-steps", type=int, default=3,
                        help="timed training steps (0: skip the step)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    import tensorflow as tf

    from ogan_tf.data.sources import open_lmdb

    jpeg_dir, lmdb_dir = build_fixtures(Path(args.workdir), args.jpegs, args.webps)
    gpus = tf.config.list_physical_devices("GPU")
    print(f"machine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
          f"GPU: {', '.join(g.name for g in gpus) or 'none'}; TF {tf.__version__}", flush=True)

    figures = {}
    print("timing the training step ...", flush=True)
    if args.step_steps:
        figures["step"] = step_rate(args.step_steps)
        print(f"  step: {figures['step']:.1f} images/s", flush=True)

    folder = load_preset("folder", data_path=str(jpeg_dir), resolution=RES)
    church = load_preset("lsun_church", data_path=str(lmdb_dir), resolution=RES)
    files = sorted(jpeg_dir.glob("*.jpg"))
    env = open_lmdb(lmdb_dir)  # the pipeline's: lmdb opens an environment once per process
    with env.begin() as txn:
        keys = list(txn.cursor().iternext(values=False))

    def read(i):
        with env.begin() as txn:
            return txn.get(keys[i % len(keys)])

    print("building and warming up the pipelines ...", flush=True)
    measures = {
        "jpeg_pipeline": PipelineRate(folder, args.seconds),
        "jpeg_pipeline_full": PipelineRate(folder.replace(jpeg_draft=False), args.seconds),
        "jpeg_plain": lambda: plain_rate(lambda i: files[i % len(files)].read_bytes(),
                                         args.plain, 0),
        "webp_pipeline": PipelineRate(church, args.seconds),
        "webp_plain": lambda: plain_rate(read, args.plain, 256),
    }
    # Interleaved rounds, medians: on a shared machine the load drifts, and
    # each ratio should compare figures taken close together.
    rounds = {key: [] for key in measures}
    for r in range(args.rounds):
        for key, rate in measures.items():
            rounds[key].append(rate())
        print(f"  round {r + 1}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in rounds.items()),
              flush=True)
    figures.update({key: float(np.median(v)) for key, v in rounds.items()})

    step = figures.get("step", float("nan"))
    rows = [
        ("OGAN fit step, 128 px dcgan_5x5, batch 64 (consumes)", "step"),
        ("folder of 256 px JPEGs -> 128 px: pipeline (jpeg_draft)", "jpeg_pipeline"),
        ("   the same with jpeg_draft = false (full decode)", "jpeg_pipeline_full"),
        ("   plain per-file loader (author's style)", "jpeg_plain"),
        ("LMDB of WebP (LSUN-like) -> 128 px: pipeline", "webp_pipeline"),
        ("   plain per-file loader (author's style)", "webp_plain"),
    ]
    print(f"\nmedians of {args.rounds} interleaved rounds")
    print(f"{'':58s}{'images/s':>10s}{'x step':>9s}{'x plain':>9s}")
    for label, key in rows:
        if key not in figures:
            continue
        plain = figures["jpeg_plain" if key.startswith("jpeg") else "webp_plain"]
        ratios = "" if key == "step" else f"{figures[key] / step:9.1f}"
        if "pipeline" in key:
            ratios += f"{figures[key] / plain:9.1f}"
        print(f"{label:58s}{figures[key]:10.0f}{ratios}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
