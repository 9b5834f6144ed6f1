"""`make claims` (python research/claims.py): train each claims_* preset
with one budget, tabulate.

The article's claims, each a preset in experiments/ on the offline shapes
data with the default preset's networks:
  claims_author   the author's loss (GAN-QP, rho weight 0.5): E encodes
  claims_no_rho   rho weight 0: without the term, E is no encoder
  claims_mse      ||z - E(G(z))||^2 in place of rho: "fails" per the article
  claims_hinge    rho added to a hinge GAN        } the trick "embeds into
  claims_ns       rho added to a non-saturating GAN } any GAN"
Each run is trained (or resumed) to the same number of steps, evaluated
without FID (the InceptionV3 weights need a download) and summarised in a
markdown table.
"""

import argparse
import sys
from pathlib import Path

from ogan_tf.cli.quiet import quiet_tensorflow_start

quiet_tensorflow_start()  # before TensorFlow loads, as the ogan-tf command does

from ogan_tf.data.sources import open_source  # noqa: E402
from ogan_tf.evaluation import evaluate as evaluation  # noqa: E402
from ogan_tf.evaluation import metrics  # noqa: E402
from ogan_tf.errors import OganError  # noqa: E402
from ogan_tf.messages import install_console, say  # noqa: E402
from ogan_tf.runs.files import write_text  # noqa: E402
from ogan_tf.runs.folder import RunDir  # noqa: E402
from ogan_tf.training import train as training  # noqa: E402

CLAIMS = (
    ("claims_author", "author's: GAN-QP + rho"),
    ("claims_no_rho", "GAN-QP, no encoder term (rho weight 0)"),
    ("claims_mse", "GAN-QP + MSE ‖z − E(G(z))‖² instead of rho"),
    ("claims_hinge", "hinge GAN + rho"),
    ("claims_ns", "non-saturating GAN + rho"),
)

HEADER = (
    "| setting | steps | z_corr (fresh z) | recon MSE (other image) | recon SSIM (other image) "
    "| SWD samples | SWD recon |\n|---|---|---|---|---|---|---|\n"
)


def table_row(label, result):
    return (
        f"| {label} | {result['step']} | {result['z_corr_fresh']:.3f} "
        f"| {result['recon_mse']:.3f} ({result['recon_mse_other']:.3f}) "
        f"| {result['recon_ssim']:.3f} ({result['recon_ssim_other']:.3f}) "
        f"| {result['swd_samples']:.1f} | {result['swd_recon']:.1f} |\n"
    )


def reference_row(runs_dir, n):
    """SWD of n training images against the n held-out ones: the floor any
    generator is measured against (the data set against itself)."""
    config = RunDir(runs_dir, CLAIMS[0][0]).read_config()
    source = open_source(config)
    train = source.load_many(source.train_indices[:n])
    value = metrics.swd(source.heldout(n), train)["swd"]
    return f"| real training images, for reference | | | | | {value:.1f} | |\n"


def run_claims(runs_dir, samples_dir, out, steps=None, n=1000, presets=None, log=say):
    """Train and evaluate each claims preset; write the table to `out`
    (None: <runs_dir>/claims.md)."""
    out = Path(runs_dir) / "claims.md" if out is None else Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for preset, label in CLAIMS:
        if presets and preset not in presets:
            continue
        run = training.start_run(runs_dir, samples_dir, preset, preset, {"steps": steps},
                                 log=log)
        training.train(run, samples_dir, log=log)
        result = evaluation.evaluate_run(runs_dir, preset, n=n, fid=False, log=log)
        rows.append(table_row(f"{label} (`{preset}`)", result))
    table = HEADER + reference_row(runs_dir, n) + "".join(rows)
    note = (
        f"\nHeld-out images: {n}. z_corr: mean rho(z, E(G(z))) on fresh z. Recon: "
        "G(s N(E(x))) against x, and in brackets against a random other image (what an "
        "encoder that carries no information gets). SWD: x 10^3, mean over the Laplacian "
        "pyramid's levels, against the held-out images (lower is better).\n"
    )
    write_text(out, table + note)
    log(f"wrote {out}:\n{table}")
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description="train and evaluate the claims_* presets; "
                                                 "a markdown table")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per preset (default: the presets' 2000)")
    parser.add_argument("--images", type=int, default=1000, help="held-out images to evaluate on")
    parser.add_argument("-o", "--output", default=None,
                        help="the table's file (default: <runs-dir>/claims.md)")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--samples-dir", default="samples")
    args = parser.parse_args(argv)
    install_console(0)
    try:
        run_claims(args.runs_dir, args.samples_dir, args.output, steps=args.steps,
                   n=args.images)
    except OganError as err:
        print(f"claims: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
