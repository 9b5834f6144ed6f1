"""O-GAN loss terms as pure keras.ops functions (backend independent).

Shapes: ``B`` is the batch, ``n`` the code width (z_dim), images are
``(B, H, W, C)``. Every reduction is over the last axis, one value per sample,
as in the article: avg, std and rho are statistics of ONE code vector.
"""

from keras import ops

# Floor for norms, as keras' l2_normalize in the author's code: a constant
# vector standardises to 0 (rho = 0) instead of 0/0.
EPSILON = 1e-12


def avg(v):
    """Mean of the entries of each vector. (B, n) -> (B,)."""
    return ops.mean(v, axis=-1)


def std(v):
    """Population standard deviation of each vector. (B, n) -> (B,)."""
    return ops.sqrt(ops.mean(ops.square(v - avg(v)[..., None]), axis=-1))


def standardize(v):
    """N(v) = (v - avg v) / std v for each vector. (B, n) -> (B, n).

    A constant vector maps to zeros (its std is floored at EPSILON).
    """
    centred = v - avg(v)[..., None]
    return centred / ops.maximum(std(v), EPSILON)[..., None]


def correlation(a, b):
    """rho(a, b): Pearson correlation of the entries, per sample. -> (B,).

    Computed as the author's ``correlation``: centre, l2-normalise (norm
    floored at sqrt(EPSILON)), dot product. Equal to cos(N(a), N(b)); 0 when
    either vector is constant, never NaN.
    """

    def unit(v):
        centred = v - avg(v)[..., None]
        norm_sq = ops.sum(ops.square(centred), axis=-1, keepdims=True)
        return centred / ops.sqrt(ops.maximum(norm_sq, EPSILON))

    return ops.sum(unit(a) * unit(b), axis=-1)


def ogan_qp_loss(
    z, x_real, x_fake_ng, z_real, z_fake, z_fake_ng, rho_weight=0.5, qp_weight=0.25
):
    """The author's single O-GAN loss (GAN-QP variant, eq. "simplest-2").

    Args:
        z: (B, n) the noise fed to G.
        x_real: (B, H, W, C) real images.
        x_fake_ng: (B, H, W, C) stop_gradient(G(z)).
        z_real: (B, n) E(x_real).
        z_fake: (B, n) E(G(z)), gradients flow into G and E.
        z_fake_ng: (B, n) E(stop_gradient(G(z))), gradients flow into E only.
        rho_weight: lambda_2, the weight of the correlation term
            (0.5 in the author's 128 px scripts, 1.0 at 256 px).
        qp_weight: the QP term's factor (0.25 in the author's code).

    Returns:
        (loss, terms): the scalar loss whose gradient trains both players,
        and a dict of per-sample terms ``t1`` (the critic gap, E only),
        ``t2`` (G only; its value is 0), ``qp`` and ``z_corr`` (rho), each (B,).

    Routing: t1 reaches E only (z_real, z_fake_ng); in t2 = avg(z_fake) -
    avg(z_fake_ng) E's two contributions cancel, leaving G's; qp sees only
    stop-gradient images and so reaches E only; rho(z, z_fake) reaches both.
    """
    t1 = avg(z_real) - avg(z_fake_ng)
    t2 = avg(z_fake) - avg(z_fake_ng)
    z_corr = correlation(z, z_fake)
    pixel_dist = ops.mean(ops.square(x_real - x_fake_ng), axis=(1, 2, 3))
    qp = qp_weight * ops.square(t1) / pixel_dist
    loss = ops.mean(t1 + t2 - rho_weight * z_corr) + ops.mean(qp)
    return loss, {"t1": t1, "t2": t2, "qp": qp, "z_corr": z_corr}
