"""How far Keras 3's BatchNorm moving statistics are from Keras 2.2.4's (the
author's), measured in inference-mode outputs at each checkpoint of a run.

    ogan-tf train --run bnprobe --steps 1000 --checkpoint-every 100 --keep-checkpoints 10
    python research/bn_statistics_gap.py bnprobe [--runs-dir runs]

Prints one JSON line per checkpoint. docs/algorithm.md ("Where we differ")
quotes it.

G (called once per step): Keras 2.2.4's statistics follow exactly from
Keras 3's. Keras 3 keeps a plain average from (mean 0, variance 1):
mm_t = (1 - m^t) mean_avg, mv_t = m^t + (1 - m^t) var_avg, so the author's
zero-debiased averages with the n/(n-1) variance are
    mean = mm / (1 - m^t),  var = n/(n-1) (mv - m^t) / (1 - m^t).
E (called three times per step, each call keeping a zero-debiased average of
its OWN batch's statistics, the last call's written): bracketed here by the
population statistics of real batches and of fake batches (n/(n-1) scaled).
Reported: rms difference of G's samples and of E's N-normalised codes
between Keras 3's statistics and those, and the reconstruction MSE with each.
"""

import argparse
import json

import numpy as np


def batchnorms(model):
    import keras
    return [la for la in model.layers if isinstance(la, keras.layers.BatchNormalization)]


def statistics(layers_):
    return [(np.asarray(la.moving_mean), np.asarray(la.moving_variance)) for la in layers_]


def set_statistics(layers_, stats):
    for la, (mean, var) in zip(layers_, stats):
        la.moving_mean.assign(mean)
        la.moving_variance.assign(var)


def population(model, batches):
    """Average over `batches` of each BN input's batch mean and n/(n-1) variance."""
    import keras
    layers_ = batchnorms(model)
    probe = keras.Model(model.input, [la.input for la in layers_])
    total = None
    for batch in batches:
        outs = probe(batch, training=True)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        current = []
        for o in map(np.asarray, outs):
            axes = tuple(range(o.ndim - 1))
            n = int(np.prod([o.shape[a] for a in axes]))
            current.append((o.mean(axes), o.var(axes) * n / (n - 1)))
        total = current if total is None else [
            (a[0] + c[0], a[1] + c[1]) for a, c in zip(total, current)]
    return [(m / len(batches), v / len(batches)) for m, v in total]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--runs-dir", default="runs")
    args = parser.parse_args()

    from ogan_tf.data.shapes import make_shapes
    from ogan_tf.model.losses import standardize
    from ogan_tf.runs.folder import RunDir
    from ogan_tf.runs.models import load_checkpoint

    run = RunDir(args.runs_dir, args.run)
    config = run.read_config()
    images, _ = make_shapes(512, config.resolution, seed=7)
    x = images.astype("float32") / 127.5 - 1
    z = np.random.default_rng(1).normal(size=(512, config.z_dim)).astype("float32")
    batch = config.batch_size
    for path in sorted(run.checkpoints.glob("ckpt-*.keras")):
        model = load_checkpoint(path, config)
        G, E = model.generator, model.encoder
        t = int(np.asarray(model.optimizer.iterations))
        rng = np.random.default_rng(2)
        keras3_g, keras3_e = statistics(batchnorms(G)), statistics(batchnorms(E))
        author_g = []
        for la, (mm, mv) in zip(batchnorms(G), keras3_g):
            m = la.momentum
            n = batch * int(np.prod(la.input.shape[1:-1]))
            debias = 1 - m**t
            author_g.append((mm / debias, n / (n - 1) * (mv - m**t) / debias))
        samples_keras3 = G.predict(z, verbose=0)
        set_statistics(batchnorms(G), author_g)
        samples_author = G.predict(z, verbose=0)
        set_statistics(batchnorms(G), keras3_g)
        real = population(E, [x[rng.integers(0, 512, batch)] for _ in range(8)])
        fake = population(E, [G(z[rng.integers(0, 512, batch)], training=True)
                              for _ in range(8)])
        codes, recon = {}, {}
        for name, stats in (("keras3", keras3_e), ("real", real), ("fake", fake)):
            set_statistics(batchnorms(E), stats)
            codes[name] = np.asarray(standardize(E.predict(x, verbose=0)))
            decoded = G.predict(config.recon_scale * codes[name], verbose=0)
            recon[name] = float(((decoded - x) ** 2).mean())
        set_statistics(batchnorms(E), keras3_e)

        def rms(a, b):
            return round(float(np.sqrt(((a - b) ** 2).mean())), 4)

        print(json.dumps({
            "step": t,
            "G samples rms, keras3 vs author statistics ([-1, 1])":
                rms(samples_keras3, samples_author),
            "E codes rms, keras3 vs real-batch statistics": rms(codes["keras3"], codes["real"]),
            "E codes rms, keras3 vs fake-batch statistics": rms(codes["keras3"], codes["fake"]),
            "E codes rms, real vs fake statistics": rms(codes["real"], codes["fake"]),
            "recon MSE with keras3 / real / fake statistics":
                [round(recon[k], 4) for k in ("keras3", "real", "fake")],
        }), flush=True)


if __name__ == "__main__":
    main()
