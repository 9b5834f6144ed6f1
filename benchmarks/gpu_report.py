"""benchmarks/run_gpu.sh's helpers: the image folder `ogan-tf train` reads,
a training run's row from its metrics.jsonl, and the ratios between rows.

    python benchmarks/gpu_report.py images FOLDER --count 512 --size 160
    python benchmarks/gpu_report.py train-row RUN_DIR --tag 128 --out rows.jsonl
    python benchmarks/gpu_report.py summary rows.jsonl --out ratios.jsonl

Rows are JSON lines; a row's (tag, mode) names it: tag "128" is 128 px batch
64 (the `folder` preset, the author's DCGAN script), tag "256" the 256 px
EMA preset's settings (`celeba_hq_256`); mode is bench_gpu.py's mode, or
"train" for `ogan-tf train`. Every row has img_s, the images per second the
ratios divide. Numpy and Pillow only: no Keras, no backend.
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

# name, numerator and denominator as (tag, mode, field), goal (benchmarks/README.md#gpu)
RATIOS = [
    ("ours_f32_vs_port_f32", ("128", "fit_f32", "img_s"), ("128", "plain_f32", "img_s"), 1.0),
    ("ours_bf16_vs_port_bf16", ("128", "fit_bf16", "img_s"), ("128", "plain_bf16", "img_s"),
     None),
    ("fused_f32_vs_port_f32", ("128", "fused_f32", "img_s"), ("128", "plain_f32", "img_s"),
     None),
    ("fastest_vs_port_bf16", ("128", "fastest", "img_s"), ("128", "plain_bf16", "img_s"), 1.3),
    ("port_bf16_vs_port_f32", ("128", "plain_bf16", "img_s"), ("128", "plain_f32", "img_s"),
     None),
    ("train_vs_step_128", ("128", "train", "img_s"), ("128", "fit_f32", "img_s"), 0.9),
    ("train_vs_step_256", ("256", "train", "img_s"), ("256", "fit_f32", "img_s"), 0.9),
    # the same over the wall time between the rows: grids and checkpoints in
    ("train_wall_vs_step_128", ("128", "train", "img_s_wall"), ("128", "fit_f32", "img_s"),
     None),
    ("train_wall_vs_step_256", ("256", "train", "img_s_wall"), ("256", "fit_f32", "img_s"),
     None),
]
STEP_FIELDS = ("kind", "backend", "mode", "tag", "precision", "fused", "res", "batch",
               "img_s", "img_s_min", "img_s_max", "device")
TRAIN_FIELDS = ("kind", "mode", "tag", "precision", "fused_step", "res", "batch", "preset",
                "img_s", "steps_s", "img_s_wall", "rows_used", "steps")


def write_images(folder, count, size, seed=0):
    """`count` JPEGs of `size` px: smooth colour fields with a few boxes, so
    they decode (and resize to the run's resolution) as photos would."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, size, dtype=np.float32)
    for i in range(count):
        a, b = rng.uniform(0, 255, (2, 3)).astype(np.float32)
        image = a + (b - a) * ramp[:, None, None] * rng.uniform(0.3, 1)
        image = np.broadcast_to(image, (size, size, 3)).copy()
        for _ in range(3):
            x, y = rng.integers(0, size * 3 // 4, 2)
            w = rng.integers(size // 8, size // 3)
            image[y:y + w, x:x + w] = rng.uniform(0, 255, 3)
        noise = rng.normal(0, 6, image.shape)
        Image.fromarray(np.clip(image + noise, 0, 255).astype(np.uint8)).save(
            folder / f"img{i:05d}.jpg", quality=90)


def train_row(run_dir, tag):
    """The row of an `ogan-tf train` run from its metrics.jsonl: steps/s is
    the median of the rows after the first (compilation, warm-up);
    img_s_wall divides the steps between the first and last row by the wall
    time between them (the grids and checkpoints written in between count)."""
    run_dir = Path(run_dir)
    if not (run_dir / "metrics.jsonl").is_file():
        raise SystemExit(f"{run_dir} has no metrics.jsonl: the run ended before its first "
                         "row (see its log)")
    config = json.loads((run_dir / "config.json").read_text())
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()
            if line.strip()]
    rows = [r for r in rows if "steps_per_s" in r]
    if len(rows) < 2:
        raise SystemExit(f"{run_dir}/metrics.jsonl has {len(rows)} rows; the rate needs 2 "
                         "(one of warm-up): train longer")
    used = rows[1:]
    steps_s = statistics.median(r["steps_per_s"] for r in used)
    first, last = rows[0], rows[-1]
    wall = (last["step"] - first["step"]) / max(last["time"] - first["time"], 1e-9)
    batch = config["batch_size"]
    return {
        "kind": "train", "mode": "train", "tag": tag, "preset": config["preset"],
        "precision": config["precision"], "fused_step": config["fused_step"],
        "jit_compile": config["jit_compile"], "variant": config["variant"],
        "res": config["resolution"], "batch": batch, "z_dim": config["z_dim"],
        "ema_decays": config["ema_decays"], "steps": last["step"],
        "rows_used": len(used), "steps_s": steps_s, "img_s": steps_s * batch,
        "steps_s_rows": [r["steps_per_s"] for r in used],
        "img_s_wall": wall * batch, "z_corr": last.get("z_corr"),
    }


def read_rows(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def ratios(rows):
    """One ratio row per RATIOS entry (the last row of a (tag, mode)
    counts); where a row is missing, ratio None and `missing` names it."""
    by_key = {(str(r.get("tag")), r.get("mode")): r for r in rows if r.get("kind") != "ratio"}
    out = []
    for name, top, bottom, goal in RATIOS:
        num, den = by_key.get(top[:2]), by_key.get(bottom[:2])
        row = {"kind": "ratio", "name": name, "goal": goal, "numerator": list(top),
               "denominator": list(bottom), "ratio": None}
        if num is None or den is None:
            row["missing"] = [list(k[:2]) for k, r in ((top, num), (bottom, den)) if r is None]
        else:
            row["ratio"] = num[top[2]] / den[bottom[2]]
            row["met"] = None if goal is None else row["ratio"] >= goal
        out.append(row)
    return out


def table(rows, ratio_rows):
    lines = [f"{'tag':>4} {'mode':<14} {'backend':<22} {'precision':<15} {'img/s':>9}"]
    for r in rows:
        if r.get("kind") in ("step", "train"):
            lines.append(f"{r.get('tag', ''):>4} {r['mode']:<14} "
                         f"{str(r.get('backend', 'ogan-tf train'))[:22]:<22} "
                         f"{str(r.get('precision')):<15} {r['img_s']:9.1f}")
    for r in ratio_rows:
        value = "missing " + str(r.get("missing")) if r["ratio"] is None else f"{r['ratio']:.2f}"
        goal = "" if r["goal"] is None else f"  (goal >= {r['goal']}: " \
            f"{'met' if r.get('met') else 'not met'})"
        lines.append(f"{r['name']:<26} {value}{goal if r['ratio'] is not None else ''}")
    return "\n".join(lines)


def append(path, rows):
    with open(path, "a") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    images = sub.add_parser("images", help="write a folder of JPEGs")
    images.add_argument("folder")
    images.add_argument("--count", type=int, default=512)
    images.add_argument("--size", type=int, default=160)
    train = sub.add_parser("train-row", help="a run's row from its metrics.jsonl")
    train.add_argument("run_dir")
    train.add_argument("--tag", required=True)
    train.add_argument("--out", required=True, help="append the row to this JSON-lines file")
    summary = sub.add_parser("summary", help="ratios between the rows, and a table")
    summary.add_argument("rows")
    summary.add_argument("--out", required=True, help="write the ratio rows here")
    args = parser.parse_args(argv)
    if args.command == "images":
        write_images(args.folder, args.count, args.size)
    elif args.command == "train-row":
        row = train_row(args.run_dir, args.tag)
        print(json.dumps(row))
        append(args.out, [row])
    else:
        rows = read_rows(args.rows)
        ratio_rows = ratios(rows)
        Path(args.out).write_text("".join(json.dumps(r) + "\n" for r in ratio_rows))
        print(table(rows, ratio_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
