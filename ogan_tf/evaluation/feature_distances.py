"""Distances between two sets of network features: FID and KID (numpy).

- FID (Heusel et al. 2017): the Frechet distance of two Gaussians fitted to
  the features, ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)).
  Biased at small counts (it falls as the counts grow), so a figure is
  comparable only with one of the same network and image counts.
- KID (Binkowski et al. 2018, "Demystifying MMD GANs"): the unbiased
  estimate of the squared MMD with the cubic polynomial kernel
  k(x, y) = (x . y / d + 1)^3, averaged over random subsets of m images of
  each set, as StyleGAN2-ADA's metrics/kernel_inception_distance.py and
  clean-fid compute it (100 subsets of at most 1000); we also return the
  spread (std) over the subsets, as the KID paper reports it. Unbiased: its
  expectation does not depend on the counts, so it is meaningful at the
  small counts a CPU affords (it can be slightly negative for equal sets).
"""

import numpy as np

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000


def gaussian_stats(features):
    """(mean (d,), covariance (d, d)) of features (n, d), float64."""
    x = np.asarray(features, np.float64)
    return x.mean(axis=0), np.cov(x, rowvar=False)


def sqrt_psd(cov):
    """The symmetric square root of a covariance (eigenvalues clipped at 0)."""
    vals, vecs = np.linalg.eigh(cov)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


def covariance_sqrt(features):
    """The square root of the covariance of features (n, d): from the thin
    SVD of the centred features when n <= d / 4 (then far cheaper than the
    d x d eigenproblem; near n = d it costs more: benchmarks/bench_fid.py),
    else from the covariance itself."""
    x = np.asarray(features, np.float64)
    n, d = x.shape
    if 4 * n > d:
        return sqrt_psd(np.cov(x, rowvar=False))
    _, s, vt = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    return (vt.T * (s / np.sqrt(n - 1))) @ vt


def frechet_from_stats(mu_a, cov_a, mu_b, cov_b, sqrt_a=None):
    """The Frechet distance of N(mu_a, cov_a) and N(mu_b, cov_b).

    tr((S_a S_b)^(1/2)) is the sum of square roots of the eigenvalues of
    S_a^(1/2) S_b S_a^(1/2), a symmetric PSD matrix with the same
    eigenvalues: stable also for the singular covariances of fewer samples
    than features. sqrt_a: S_a^(1/2) where it is known (a cached reference).
    """
    sqrt_a = sqrt_psd(cov_a) if sqrt_a is None else sqrt_a
    cross = np.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a)
    return _frechet(mu_a, cov_a, mu_b, np.trace(cov_b), cross)


def frechet_to_features(mu_a, cov_a, sqrt_a, features_b):
    """frechet_from_stats of a reference (with its covariance's root) and the
    Gaussian of features_b (n, d); for n <= d through the n x n matrix
    M M^T, M = centred features_b S_a^(1/2) / sqrt(n - 1), whose eigenvalues
    are the nonzero ones of S_a^(1/2) S_b S_a^(1/2)."""
    b = np.asarray(features_b, np.float64)
    n, d = b.shape
    if n > d:
        return frechet_from_stats(mu_a, cov_a, *gaussian_stats(b), sqrt_a)
    centred = b - b.mean(axis=0)
    m = centred @ sqrt_a / np.sqrt(n - 1)
    trace_b = float(np.sum(centred ** 2)) / (n - 1)
    return _frechet(mu_a, cov_a, b.mean(axis=0), trace_b, np.linalg.eigvalsh(m @ m.T))


def _frechet(mu_a, cov_a, mu_b, trace_b, cross):
    trace_sqrt = np.sqrt(np.clip(cross, 0, None)).sum()
    fid = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + trace_b - 2 * trace_sqrt
    return float(max(fid, 0.0))


def frechet_distance(features_a, features_b):
    """FID of two feature sets (n, d) and (m, d)."""
    return frechet_from_stats(*gaussian_stats(features_a), *gaussian_stats(features_b))


def mmd2_unbiased(x, y):
    """The unbiased squared MMD of two equal-size sets (m, d) with the cubic
    polynomial kernel: the off-diagonal means of k(x, x') and k(y, y') minus
    twice the mean of k(x, y)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    m, d = x.shape
    within = (x @ x.T / d + 1) ** 3 + (y @ y.T / d + 1) ** 3
    across = (x @ y.T / d + 1) ** 3
    return float((within.sum() - np.trace(within)) / (m * (m - 1)) - 2 * across.mean())


def kernel_distance(features_a, features_b, subsets=KID_SUBSETS, subset_size=KID_SUBSET_SIZE,
                    seed=0):
    """KID of two feature sets -> (mean, std over subsets, subset size m).

    Each subset draws m = min(n_a, n_b, subset_size) rows of each set
    without replacement (StyleGAN2-ADA's scheme)."""
    a, b = np.asarray(features_a), np.asarray(features_b)
    m = min(len(a), len(b), subset_size)
    if m < 2:
        raise ValueError("KID needs at least 2 images in each set")
    rng = np.random.default_rng(seed)
    values = [mmd2_unbiased(b[rng.choice(len(b), m, replace=False)],
                            a[rng.choice(len(a), m, replace=False)]) for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values)), m
