"""Does `auto` pick the faster speed setting here? `ogan-tf train` on a folder
of generated PNGs with the recipe's own settings (`auto`, measured), then with
--jit-compile on and off; each run's steady rate is the median of its 100-step
intervals after the first. Grids, checkpoints and the export are off; the
`auto` run is stopped (Ctrl-C) after --steps steps, the others train --steps.

    python benchmarks/auto_speed.py --resolution 64          # the folder recipe at 64 px
    python benchmarks/auto_speed.py --data shapes            # the default preset

Prints one line per run and auto's rate over the faster fixed one. The speed
cache is a fresh temporary folder, so `auto` measures.
"""

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROGRESS = re.compile(r"^step ([\d,]+)/[\d,]+ \([\d.]+%\), ([\d.]+) steps/s", re.M)
QUIET = ["--sample-every", "1000000", "--checkpoint-every", "1000000", "--export-at-end", "none"]


def make_folder(folder, count, resolution):
    from PIL import Image

    from ogan_tf.data.shapes import make_shapes

    folder.mkdir(parents=True)
    images, _ = make_shapes(count, resolution, 1)
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{i:04d}.png")


def train(data, run, root, steps, flags, stop_early):
    """(steady steps/s, the speed line or '') of one ogan-tf train."""
    cmd = [sys.executable, "-m", "ogan_tf", "train", "--data", data, "--run", run,
           "--runs-dir", str(root / "runs"), "--samples-dir", str(root / "samples"),
           *QUIET, *flags] + ([] if stop_early else ["--steps", str(steps)])
    env = {**os.environ, "OGAN_CACHE_DIR": str(root / "cache")}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        match = PROGRESS.match(line)
        if stop_early and match and int(match.group(1).replace(",", "")) >= steps:
            proc.send_signal(signal.SIGINT)  # the run saves its step and stops
    proc.wait()
    text = "".join(lines)
    rates = [float(rate) for _, rate in PROGRESS.findall(text)][1:]
    speed = next((line.strip() for line in lines if line.startswith("speed: ")), "")
    if not rates:
        raise SystemExit(f"auto_speed: {run} gave no progress lines:\n{text[-2000:]}")
    return statistics.median(rates), speed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="a preset (default: a generated folder)")
    parser.add_argument("--resolution", type=int, default=64, help="the folder's images' side")
    parser.add_argument("--images", type=int, default=600, help="the folder's images")
    parser.add_argument("--steps", type=int, default=800, help="steps timed in each run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ogan-auto-speed-") as tmp:
        root = Path(tmp)
        data = args.data
        if data is None:
            data = str(root / "images") + "/"
            make_folder(root / "images", args.images, args.resolution)
        rates = {}
        for name, flags in (("auto", []), ("xla on", ["--jit-compile", "on"]),
                            ("xla off", ["--jit-compile", "off"])):
            rates[name], speed = train(data, name.replace(" ", "_"), root, args.steps, flags,
                                       stop_early=name == "auto")
            print(f"{name:8} {rates[name]:6.2f} steps/s  {speed}", flush=True)
    best = max(rates["xla on"], rates["xla off"])
    print(f"auto / the faster fixed setting: {rates['auto'] / best:.2f}")


if __name__ == "__main__":
    sys.exit(main())
