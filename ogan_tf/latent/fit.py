"""Linear read-outs of codes, directions from examples, principal axes.

All exact and small, numpy only: codes are float (n, z_dim) with z_dim in the
tens or hundreds, so a logistic regression is a few Newton steps on a
(z_dim + 1)-square system and least squares is one solve.

A direction is the unit normal of a linear read-out fitted on codes: the
weight vector w of a logistic regression (two classes: the positive class
lies on the side w points to) or of ridge least squares (a continuous value:
it grows along w), divided by its length. The read-out is fitted on a
training split and scored on a held-out split (accuracy, R^2), so the score
says whether the attribute is in the codes at all; the saved direction is
that same fitted read-out's.
"""

import numpy as np

from ..errors import OganError

RIDGE = 1e-3  # L2 penalty of the read-outs (on w, not the intercept), relative to mean losses
HELDOUT = 0.2  # fraction of the examples held out to score the read-out


class DirectionError(OganError):
    """Examples from which no direction can be found (one class, too few)."""


# Read-outs -------------------------------------------------------------------
def _design(codes):
    codes = np.asarray(codes, np.float64)
    return np.concatenate([codes, np.ones((len(codes), 1))], axis=1)


def fit_logistic(codes, labels, ridge=RIDGE, iterations=100):
    """(w, b) of a logistic regression P(label = 1) = sigmoid(codes @ w + b).

    Minimises the class-balanced mean log-loss (each class weighs half) plus
    ridge / 2 * |w|^2 by Newton's method with step halving; the objective is
    strictly convex, so this is its unique minimum. labels: 0/1 or bool (n,).
    """
    x = _design(codes)
    y = np.asarray(labels, np.float64)
    n1 = y.sum()
    weight = np.where(y == 1, 0.5 / n1, 0.5 / (len(y) - n1))
    penalty = np.full(x.shape[1], float(ridge))
    penalty[-1] = 0.0

    def objective(theta):
        t = x @ theta
        return float(weight @ (np.logaddexp(0.0, t) - y * t) + 0.5 * penalty @ theta ** 2)

    theta = np.zeros(x.shape[1])
    value = objective(theta)
    for _ in range(iterations):
        p = 0.5 * (1.0 + np.tanh(0.5 * (x @ theta)))  # sigmoid without overflow
        grad = x.T @ (weight * (p - y)) + penalty * theta
        hess = (x * (weight * p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        size = 1.0
        while size > 1e-6 and objective(theta - size * step) > value:
            size /= 2
        theta = theta - size * step
        new = objective(theta)
        if value - new <= 1e-12 * max(1.0, abs(value)):
            break
        value = new
    return theta[:-1], float(theta[-1])


def fit_least_squares(codes, values, ridge=RIDGE):
    """(w, b) minimising mean((codes @ w + b - values)^2) + ridge * |w|^2 (one
    solve of the normal equations; the intercept is not penalised)."""
    x = _design(codes)
    y = np.asarray(values, np.float64)
    penalty = np.full(x.shape[1], float(ridge))
    penalty[-1] = 0.0
    gram = x.T @ x / len(x) + np.diag(penalty)
    theta = np.linalg.lstsq(gram, x.T @ y / len(x), rcond=None)[0]
    return theta[:-1], float(theta[-1])


def r_squared(target, prediction):
    """1 - residual / total sum of squares (0: no better than the mean)."""
    target = np.asarray(target, np.float64)
    total = ((target - target.mean()) ** 2).sum()
    return float(1.0 - ((target - prediction) ** 2).sum() / total) if total > 0 else float("nan")


def split(labels=None, n=None, heldout=HELDOUT, seed=0):
    """(train indices, held-out indices), fixed by seed. With labels (two
    classes), each class is split on its own (stratified) so both sides hold
    both classes; each class needs 2 examples. Without, n examples, at least
    4 (2 held out)."""
    rng = np.random.default_rng(seed)
    if labels is None:
        if n < 4:
            raise DirectionError(f"{n} example(s) are too few; a read-out needs at least 4")
        order = rng.permutation(n)
        held = min(n - 2, max(2, int(round(heldout * n))))
        return np.sort(order[held:]), np.sort(order[:held])
    labels = np.asarray(labels)
    train, test = [], []
    for value in (0, 1):
        members = rng.permutation(np.flatnonzero(labels == value))
        held = min(len(members) - 1, max(1, int(round(heldout * len(members)))))
        test.append(members[:held])
        train.append(members[held:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def unit(vector, what="the direction"):
    """vector / |vector|; DirectionError for a zero vector."""
    vector = np.asarray(vector, np.float64)
    norm = np.linalg.norm(vector)
    if not np.isfinite(norm) or norm < 1e-12:
        raise DirectionError(f"{what} has length 0: the codes do not vary along anything "
                             "that separates the examples")
    return vector / norm


def _class_readout(codes, targets, distinct, heldout, seed, ridge):
    """find_direction's logistic read-out: (labels 0/1, w, stats, train, test)."""
    if len(distinct) != 2:
        raise DirectionError(f"classes need two distinct labels, found {len(distinct)}")
    labels = (targets == distinct[1]).astype(np.int64)
    counts = {"positive": int(labels.sum()), "negative": int(len(labels) - labels.sum())}
    for name, count in counts.items():
        if count < 2:
            raise DirectionError(f"the {name} class has {count} usable example(s); "
                                 "each class needs at least 2 (one is held out)")
    train, test = split(labels, heldout=heldout, seed=seed)
    w, b = fit_logistic(codes[train], labels[train], ridge)
    predicted = (codes[test] @ w + b) > 0
    truth = labels[test].astype(bool)
    stats = {
        "readout": "logistic regression",
        "counts": counts,
        "heldout_accuracy": float((predicted == truth).mean()),
        "heldout_balanced_accuracy": float(0.5 * (predicted[truth].mean()
                                                  + (~predicted[~truth]).mean())),
        "chance": float(max(truth.mean(), 1 - truth.mean())),
    }
    return labels, w, stats, train, test


def find_direction(codes, targets, classes=None, heldout=HELDOUT, seed=0, ridge=RIDGE):
    """The direction of an attribute in code space, from examples.

    Args:
        codes: (n, z_dim) codes N(E(x)) of the examples.
        targets: (n,) 0/1 labels (classes) or numbers (a continuous value).
        classes: True for a classifier, False for a regressor; None decides:
            two distinct values that are {0, 1} or {-1, 1} are classes.
    Returns:
        (unit vector float32 (z_dim,), stats): the read-out's held-out
        score (accuracy, balanced accuracy and chance for classes; R^2 for
        values), counts, and where the examples project on the direction.
    """
    codes = np.asarray(codes, np.float64)
    targets = np.asarray(targets, np.float64)
    if codes.ndim != 2 or len(codes) != len(targets):
        raise DirectionError(f"codes {codes.shape} and targets {targets.shape} do not match")
    distinct = np.unique(targets)
    if len(distinct) == 0:
        raise DirectionError("no examples to find a direction from")
    if len(distinct) == 1:
        raise DirectionError(f"all {len(targets)} examples have the same label "
                             f"({distinct[0]:g}): one class only; a direction needs "
                             "examples of both sides")
    if classes is None:
        classes = len(distinct) == 2 and (set(distinct) <= {0.0, 1.0}
                                          or set(distinct) <= {-1.0, 1.0})
    if classes:
        labels, w, stats, train, test = _class_readout(codes, targets, distinct, heldout, seed,
                                                       ridge)
    else:
        train, test = split(n=len(targets), heldout=heldout, seed=seed)
        w, b = fit_least_squares(codes[train], targets[train], ridge)
        stats = {
            "readout": "least squares",
            "counts": {"examples": len(targets)},
            "heldout_r2": r_squared(targets[test], codes[test] @ w + b),
            "value_per_unit": float(np.linalg.norm(w)),
        }
    direction = unit(w)
    along = codes @ direction
    projections = {}
    if classes:
        projections = {"positive_mean": float(along[labels == 1].mean()),
                       "negative_mean": float(along[labels == 0].mean())}
    stats.update(train=len(train), heldout=len(test), ridge=ridge, seed=seed,
                 projection_std=float(along.std()), **projections)
    return direction.astype(np.float32), stats


# Using directions ---------------------------------------------------------------
def orthogonalize(direction, others):
    """direction with its components along the span of `others` removed,
    unit length: an edit along it leaves the read-outs of the others (their
    projections) unchanged. others: (m, z_dim) or a list of vectors."""
    direction = np.asarray(direction, np.float64)
    others = np.atleast_2d(np.asarray(others, np.float64))
    if others.size == 0:
        return unit(direction).astype(np.float32)
    basis, sizes, _ = np.linalg.svd(others.T, full_matrices=False)
    basis = basis[:, sizes > 1e-8 * sizes.max()]
    rest = direction - basis @ (basis.T @ direction)
    if np.linalg.norm(rest) < 1e-6 * np.linalg.norm(direction):
        raise DirectionError("the direction lies in the span of the --orthogonal-to "
                             "directions: nothing is left after removing them")
    return unit(rest).astype(np.float32)


def edit_codes(codes, direction, amounts, scale):
    """s * code + a * direction for each code and amount: (n, len(amounts), z_dim)."""
    codes = np.asarray(codes, np.float32)
    amounts = np.asarray(amounts, np.float32)
    return (scale * codes[:, None, :]
            + amounts[None, :, None] * np.asarray(direction, np.float32)[None, None, :])


# Principal axes -------------------------------------------------------------------
def principal_axes(codes, k):
    """PCA of codes: (mean (z_dim,), axes (k, z_dim) unit rows, std (k,), the
    fraction of the total variance each explains (k,)). Each axis's sign is
    fixed so that its largest entry is positive (reproducible)."""
    codes = np.asarray(codes, np.float64)
    if len(codes) < 2:
        raise DirectionError(f"principal axes need at least 2 codes, got {len(codes)}")
    k = min(int(k), codes.shape[1], len(codes) - 1)
    mean = codes.mean(0)
    _, sizes, rows = np.linalg.svd(codes - mean, full_matrices=False)
    rows = rows[:k]
    signs = np.sign(rows[np.arange(k), np.abs(rows).argmax(1)])
    variance = sizes ** 2 / len(codes)
    explained = variance / variance.sum() if variance.sum() > 0 else variance
    return (mean.astype(np.float32), (rows * signs[:, None]).astype(np.float32),
            np.sqrt(variance[:k]).astype(np.float32), explained[:k].astype(np.float32))


def walk(start, axes, stds, steps=7, span=3.0):
    """Codes start + t * std_i * axis_i for t in linspace(-span, span, steps),
    one row per axis: (k, steps, z_dim)."""
    t = np.linspace(-span, span, steps, dtype=np.float32)
    axes = np.asarray(axes, np.float32) * np.asarray(stds, np.float32)[:, None]
    return np.asarray(start, np.float32)[None, None] + t[None, :, None] * axes[:, None, :]
