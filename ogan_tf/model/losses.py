"""O-GAN loss terms as pure keras.ops functions (backend independent).

Shapes: ``B`` is the batch, ``n`` the code width (z_dim), images are
``(B, H, W, C)``. Every reduction is over the last axis, one value per sample,
as in the article: avg, std and rho are statistics of ONE code vector.
"""

from keras import ops

from ..config import ENCODER_TERM_NAMES, GAN_LOSS_NAMES

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


def loss_inputs(z, x_real, x_fake_ng, z_real, z_fake, z_fake_ng):
    """The author's graph's outputs as every GAN loss here takes them: the
    codes and G(z) cast to float32 (G and E may compute in a mixed policy;
    a no-op under float32)."""
    def f32(x):
        return ops.cast(x, "float32")
    return {"z": z, "x_real": x_real, "x_fake_ng": f32(x_fake_ng), "z_real": f32(z_real),
            "z_fake": f32(z_fake), "z_fake_ng": f32(z_fake_ng)}


def ogan_qp_loss(
    z, x_real, x_fake_ng, z_real, z_fake, z_fake_ng, rho_weight=0.5, qp_weight=0.25,
    encoder_term="rho",
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
        encoder_term: "rho" (the author's) or "mse" (see encoder_penalty).

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
    penalty, z_corr = encoder_penalty(z, z_fake, encoder_term)
    pixel_dist = ops.mean(ops.square(x_real - x_fake_ng), axis=(1, 2, 3))
    qp = qp_weight * ops.square(t1) / pixel_dist
    loss = ops.mean(t1 + t2 + rho_weight * penalty) + ops.mean(qp)
    return loss, {"t1": t1, "t2": t2, "qp": qp, "z_corr": z_corr}


# The article says the trick "embeds into any GAN". The losses below keep the
# discriminator avg(E(x)) and the author's sign (E gives real images LOW
# scores, as in t1 above) and route gradients the same way: E's terms use
# only z_real and z_fake_ng; G's term is f(avg z_fake) - f(avg z_fake_ng),
# whose value is 0 and whose E-gradient cancels (the two E calls see equal
# images), leaving exactly the gradient of G's objective f(avg E(G(z))).
def rho_penalty(z, z_fake, z_corr):
    """-rho(z, E(G(z))), the article's encoder term."""
    return -z_corr


def mse_penalty(z, z_fake, z_corr):
    """mean((z - E(G(z)))^2) over the code, the term the article says fails
    (it asks E(G(z)) to equal z, fighting the critic avg(E))."""
    return ops.mean(ops.square(z - z_fake), axis=-1)


# Config.encoder_term (config.ENCODER_TERM_NAMES, in its order) -> the term
ENCODER_TERMS = dict(zip(ENCODER_TERM_NAMES, (rho_penalty, mse_penalty), strict=True))


def encoder_penalty(z, z_fake, kind="rho"):
    """The encoder term `kind` (a key of ENCODER_TERMS) to MINIMISE, per
    sample, and rho(z, z_fake). -> (B,), (B,)."""
    if kind not in ENCODER_TERMS:
        raise ValueError(f"unknown encoder term {kind!r}; use one of {tuple(ENCODER_TERMS)}")
    z_corr = correlation(z, z_fake)
    return ENCODER_TERMS[kind](z, z_fake, z_corr), z_corr


def ogan_hinge_loss(
    z, x_real, x_fake_ng, z_real, z_fake, z_fake_ng, rho_weight=0.5, encoder_term="rho",
    qp_weight=None,
):
    """Hinge GAN with the O-GAN encoder term; same inputs as ogan_qp_loss.

    With d = avg(E(x)) (low = real): E minimises relu(1 + d_real) +
    relu(1 - d_fake); G minimises d_fake. Returns (loss, terms) with t1
    (E's hinge), t2 (G's term, value 0) and z_corr, each (B,). qp_weight is
    accepted for a common signature and unused (no QP penalty here).
    """
    d_real, d_fake, d_fake_ng = avg(z_real), avg(z_fake), avg(z_fake_ng)
    t1 = ops.relu(1.0 + d_real) + ops.relu(1.0 - d_fake_ng)
    t2 = d_fake - d_fake_ng
    penalty, z_corr = encoder_penalty(z, z_fake, encoder_term)
    loss = ops.mean(t1 + t2 + rho_weight * penalty)
    return loss, {"t1": t1, "t2": t2, "z_corr": z_corr}


def ogan_nonsaturating_loss(
    z, x_real, x_fake_ng, z_real, z_fake, z_fake_ng, rho_weight=0.5, encoder_term="rho",
    qp_weight=None,
):
    """Non-saturating GAN (Goodfellow et al.) with the O-GAN encoder term.

    The logit of "real" is -avg(E(x)). E minimises softplus(d_real) +
    softplus(-d_fake); G minimises softplus(d_fake) = -log sigmoid(-d_fake).
    Returns (loss, terms) as ogan_hinge_loss; qp_weight is unused.
    """
    d_real, d_fake, d_fake_ng = avg(z_real), avg(z_fake), avg(z_fake_ng)
    t1 = ops.softplus(d_real) + ops.softplus(-d_fake_ng)
    t2 = ops.softplus(d_fake) - ops.softplus(d_fake_ng)
    penalty, z_corr = encoder_penalty(z, z_fake, encoder_term)
    loss = ops.mean(t1 + t2 + rho_weight * penalty)
    return loss, {"t1": t1, "t2": t2, "z_corr": z_corr}


# Config.gan_loss (config.GAN_LOSS_NAMES, in its order) -> loss function; each
# takes the OGAN graph's outputs and the rho_weight, qp_weight, encoder_term
# keywords (qp_weight used by the QP loss only).
GAN_LOSSES = dict(zip(GAN_LOSS_NAMES, (ogan_qp_loss, ogan_hinge_loss, ogan_nonsaturating_loss),
                      strict=True))
