"""Do the exported encoder's codes carry the images' content?

    python examples/linear_readout.py RUN [--runs-dir runs] [--n 4000]

Renders n shapes images (a seed used neither for training nor for the grids)
with their known factors, then, in a FRESH Python process that imports only
numpy and keras, loads runs/RUN/export/encoder.keras and generator.keras
with plain keras.models.load_model, encodes the uint8 images, fits a linear
read-out (least squares) of each factor from the codes on the first half
and reports R^2 on the second half (accuracy for the shape class), the same
with the codes' pairwise products added (a quadratic read-out: what the
codes hold beyond what a linear read-out sees), and
decodes the codes: pixel MSE of G(s * code) against the image and against
a random other image.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

FRESH = r'''
import sys, json
import numpy as np
import keras

export, npz = sys.argv[1], sys.argv[2]
encoder = keras.models.load_model(export + "/encoder.keras")
generator = keras.models.load_model(export + "/generator.keras")
scale = json.load(open(export + "/info.json"))["recon_scale"]
d = np.load(npz)
images = d["images"]
codes = encoder.predict(images, batch_size=250, verbose=0)
assert codes.dtype == np.float32 and "ogan_tf" not in sys.modules
half = len(codes) // 2
X = np.concatenate([codes, np.ones((len(codes), 1), np.float32)], axis=1)

# Quadratic features: the codes' pairwise products too (what the codes hold
# beyond what a linear read-out sees).
upper = np.triu_indices(codes.shape[1])
Q = np.concatenate([X, (codes[:, :, None] * codes[:, None, :])[:, upper[0], upper[1]]], 1)

def r2(target, X=X):
    w, *_ = np.linalg.lstsq(X[:half], target[:half], rcond=None)
    pred = X[half:] @ w
    resid = ((target[half:] - pred) ** 2).sum(0)
    total = ((target[half:] - target[half:].mean(0)) ** 2).sum(0)
    return float(1 - resid.sum() / total.sum())

def accuracy(X):
    w, *_ = np.linalg.lstsq(X[:half], onehot[:half], rcond=None)
    return float(((X[half:] @ w).argmax(1) == d["shape"][half:]).mean())

hue = 2 * np.pi * d["hue"]
targets = {
    "x": d["x"][:, None], "y": d["y"][:, None], "size": d["size"][:, None],
    "hue (cos, sin)": np.stack([np.cos(hue), np.sin(hue)], 1),
    "background brightness": d["bg_value"][:, None],
}
onehot = np.eye(4)[d["shape"]]
rows = {name: r2(t) for name, t in targets.items()}
quadratic = {name: r2(t, Q) for name, t in targets.items()}
quadratic["shape accuracy"] = accuracy(Q)
recon = generator.predict(scale * codes, batch_size=250, verbose=0)
x = images.astype(np.float32) / 127.5 - 1
print(json.dumps({
    "images": len(images), "code": list(codes.shape[1:]), "r2_heldout": rows,
    "shape_accuracy_heldout": accuracy(X),
    "quadratic_readout_heldout": quadratic,
    "recon_mse": float(((recon - x) ** 2).mean()),
    "recon_mse_other_image": float(((recon - np.roll(x, 1, 0)) ** 2).mean()),
    "ogan_tf_imported": "ogan_tf" in sys.modules,
}, indent=2))
'''


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--n", type=int, default=4000)
    args = parser.parse_args()

    import numpy as np

    from ogan_tf.data.shapes import make_shapes
    from ogan_tf.runs.folder import RunDir

    run = RunDir(args.runs_dir, args.run)
    config = run.read_config()
    export = run.path / "export"
    if not (export / "encoder.keras").is_file():
        sys.exit(f"no {export}/encoder.keras: run `ogan-tf export --run {args.run}` first")
    images, factors = make_shapes(args.n, config.resolution, seed=20_190_202)
    with tempfile.TemporaryDirectory() as tmp:
        npz = Path(tmp) / "shapes.npz"
        np.savez(npz, images=images, **factors)
        out = subprocess.run([sys.executable, "-c", FRESH, str(export), str(npz)],
                             capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr[-3000:])
    result = json.loads(out.stdout)
    print(json.dumps({"run": args.run, **result}, indent=2))


if __name__ == "__main__":
    main()
