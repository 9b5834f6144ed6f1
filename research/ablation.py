"""One row of the default recipe's ablation table: train, evaluate, read out.

    python research/ablation.py ROW [train flags...] [--results FILE] [--runs-dir DIR]
    python research/ablation.py --table FILE        # the markdown table of FILE's rows

A row trains `ogan-tf train --run ROW --fresh [train flags]` (the shapes
preset unless the flags say otherwise) alone, timing it (wall clock and CPU
seconds of the process), then `ogan-tf evaluate --no-fid` (reconstruction
MSE, SWD of samples and reconstructions, z_corr on fresh z) and
`examples/linear_readout.py` (linear read-out of the shapes factors from the
exported encoder's codes, loaded with plain Keras in a fresh process), and
appends one JSON line to --results (default
research/results/ablation.jsonl) with the CPU it ran on. Nothing is
asserted: figures are read, not judged. docs/recipe.md holds the table.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from ogan_tf.training.hardware import cpu_name, native_bfloat16

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RESULTS = ROOT / "research" / "results" / "ablation.jsonl"


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(command, log, stdout=None):
    """Run command from the repository root; its output into log (stdout alone
    into `stdout` when given)."""
    with open(log, "w") as err, open(stdout or os.devnull, "w") as out:
        done = subprocess.run(command, stdout=out if stdout else err, stderr=err, cwd=ROOT)
    if done.returncode:
        sys.exit(f"{' '.join(map(str, command))} failed ({done.returncode}); see {log}")


def train_and_measure(row, flags, runs_dir, logs):
    python = sys.executable
    common = ["--runs-dir", str(runs_dir)]
    cpu0, wall0 = children_cpu_seconds(), time.monotonic()
    run([python, "-m", "ogan_tf", "train", "--run", row, "--fresh", *common,
         "--samples-dir", str(runs_dir / "samples"), *flags], logs / f"{row}.train.log")
    wall, cpu = time.monotonic() - wall0, children_cpu_seconds() - cpu0
    run([python, "-m", "ogan_tf", "evaluate", "--run", row, "--no-fid", *common],
        logs / f"{row}.eval.log")
    evaluation = json.loads((runs_dir / row / "eval.json").read_text())
    readout_json = logs / f"{row}.readout.json"
    run([python, str(ROOT / "examples" / "linear_readout.py"), row, *common],
        logs / f"{row}.readout.log", stdout=readout_json)
    readout = json.loads(readout_json.read_text())
    config = json.loads((runs_dir / row / "config.json").read_text())
    rows = [json.loads(line) for line in (runs_dir / row / "metrics.jsonl").open()
            if line.strip()]
    speeds = [r["steps_per_s"] for r in rows if "steps_per_s" in r]
    return {
        "row": row, "flags": flags, "steps": config["steps"],
        "train_wall_s": round(wall, 1), "train_cpu_s": round(cpu, 1),
        # the median log interval: the steady speed, without the first tracing
        "steps_per_s": sorted(speeds)[len(speeds) // 2] if speeds else None,
        "cpu": cpu_name(), "avx512_bf16": native_bfloat16(), "cores": os.cpu_count(),
        "readout": {k: readout[k] for k in (
            "r2_heldout", "shape_accuracy_heldout", "quadratic_readout_heldout", "recon_mse")},
        "eval": {k: evaluation[k] for k in (
            "weights", "z_corr_fresh", "recon_mse", "swd_samples", "swd_recon")},
        "config": {k: config[k] for k in ("variant", "z_dim", "channels", "batch_size",
                                          "learning_rate", "rho_weight", "encoder_norm",
                                          "ema_decays", "fused_step", "jit_compile")},
    }


def table(path):
    print("| row | steps | train wall (CPU) | shape acc | x | y | size | hue | background "
          "| recon MSE | SWD samples / recon | z_corr fresh | quadratic: shape acc, size |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for line in Path(path).open():
        if not line.strip():
            continue
        r = json.loads(line)
        r2 = r["readout"]["r2_heldout"]
        q = r["readout"].get("quadratic_readout_heldout")
        quadratic = f"{q['shape accuracy']:.2f}, {q['size']:.2f}" if q else ""
        ev = r["eval"]
        time_ = ("" if r["train_wall_s"] is None else
                 f"{r['train_wall_s'] / 60:.1f} min ({r['train_cpu_s'] / 60:.0f} CPU min)")
        accuracy = r["readout"]["shape_accuracy_heldout"]
        print(f"| {r['row']} | {r['steps']} | {time_} | {accuracy:.2f} "
              f"| {r2['x']:.2f} | {r2['y']:.2f} | {r2['size']:.2f} | {r2['hue (cos, sin)']:.2f} "
              f"| {r2['background brightness']:.2f} | {ev['recon_mse']:.3f} "
              f"| {ev['swd_samples']:.1f} / {ev['swd_recon']:.1f} | {ev['z_corr_fresh']:.3f} "
              f"| {quadratic} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("row", nargs="?", help="the row's name (also the run's)")
    parser.add_argument("--results", default=str(DEFAULT_RESULTS))
    parser.add_argument("--runs-dir", default="runs/ablation")
    parser.add_argument("--table", metavar="FILE", help="print FILE's rows as a table")
    args, flags = parser.parse_known_args()
    if args.table:
        return table(args.table)
    if not args.row:
        parser.error("give a row name (or --table FILE)")
    runs_dir = Path(args.runs_dir).resolve()
    logs = runs_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    result = train_and_measure(args.row, flags, runs_dir, logs)
    with open(args.results, "a") as out:
        out.write(json.dumps(result) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
