"""The loss variants for the article's claims: routing and bookkeeping.

Each variant trains both players with one loss through the same
stop-gradient graph; as for the author's loss (tests/test_model.py), the
single loss's gradient must equal, for E, the gradient of E's objective and,
for G, that of G's objective, written out with no stop-gradient.
"""

import numpy as np
import pytest
from keras import ops
from test_model import Z_DIM, _close, _norm, batch, split_gradients, tiny_ogan

from ogan_tf import config
from ogan_tf.model import losses, step
from ogan_tf.model.ogan import OGAN

# make test-all runs these on JAX too; make test, those marked plain jax.
pytestmark = pytest.mark.jax(slow=True)
# (the routing of every variant: JAX compiles each for ~15 CPU s)

W = 0.5


def _penalty(kind, z, e_fake):
    if kind == "rho":
        return -ops.mean(losses.correlation(z, e_fake))
    return ops.mean(ops.square(z - e_fake))


def _objectives(gan_loss, d_real, d_fake, x, x_fake, penalty):
    """(E's objective, G's objective) as the papers write them."""
    if gan_loss == "qp":
        r = ops.square(d_real - d_fake) / ops.mean(ops.square(x - x_fake), axis=(1, 2, 3))
        e = ops.mean(d_real - d_fake) + 0.25 * ops.mean(r)
        g = ops.mean(d_fake)
    elif gan_loss == "hinge":
        e = ops.mean(ops.relu(1 + d_real) + ops.relu(1 - d_fake))
        g = ops.mean(d_fake)
    else:  # non-saturating, logit of "real" = -d
        e = ops.mean(ops.softplus(d_real) + ops.softplus(-d_fake))
        g = ops.mean(ops.softplus(d_fake))
    return e + W * penalty, g + W * penalty


@pytest.mark.parametrize(
    "gan_loss,encoder_term", [("hinge", "rho"), ("ns", "rho"), ("qp", "mse"), ("hinge", "mse")]
)
def test_variant_routes_gradients_like_the_two_player_objectives(gan_loss, encoder_term):
    model = tiny_ogan("sm_4x4")
    G, E = model.generator, model.encoder
    x, z = batch()
    out = step.author_graph(model, x, z, training=True)
    _, terms = losses.GAN_LOSSES[gan_loss](
        **out, rho_weight=W, qp_weight=0.25, encoder_term=encoder_term
    )
    assert np.allclose(np.asarray(terms["t2"]), 0.0, atol=1e-6)
    assert np.asarray(terms["z_corr"]).shape == (8,)

    def scalars():
        out = step.author_graph(model, x, z, training=True)
        loss, terms = losses.GAN_LOSSES[gan_loss](
            **out, rho_weight=W, qp_weight=0.25, encoder_term=encoder_term
        )
        x_fake = G(z, training=True)
        e_fake = E(x_fake, training=True)
        d_real, d_fake = losses.avg(E(x, training=True)), losses.avg(e_fake)
        e_obj, g_obj = _objectives(
            gan_loss, d_real, d_fake, x, x_fake, _penalty(encoder_term, z, e_fake)
        )
        return {
            "loss": loss, "e_obj": e_obj, "g_obj": g_obj,
            "t1": ops.mean(terms["t1"]), "t2": ops.mean(terms["t2"]),
            "penalty": _penalty(encoder_term, z, out["z_fake"]),
        }

    grads = split_gradients(scalars, model)
    assert _close(grads["loss"][0], grads["e_obj"][0])
    assert _close(grads["loss"][1], grads["g_obj"][1])
    # E gets nothing from G's term, G nothing from E's; both get the encoder term.
    assert _norm(grads["t2"][0]) < 1e-6 * _norm(grads["t1"][0])
    assert _norm(grads["t1"][1]) == 0
    assert _norm(grads["t2"][1]) > 0
    assert _norm(grads["penalty"][0]) > 0
    assert _norm(grads["penalty"][1]) > 0


@pytest.mark.jax
def test_mse_term_is_the_squared_distance_and_rho_matches_the_author_loss():
    rng = np.random.default_rng(0)
    z, zf = rng.normal(size=(2, 4, Z_DIM)).astype(np.float32)
    penalty, z_corr = losses.encoder_penalty(z, zf, "mse")
    assert np.allclose(penalty, ((z - zf) ** 2).mean(-1), rtol=1e-5)
    assert np.allclose(z_corr, [np.corrcoef(a, b)[0, 1] for a, b in zip(z, zf)], atol=1e-5)
    rho_penalty, _ = losses.encoder_penalty(z, zf, "rho")
    assert np.allclose(rho_penalty, -z_corr)
    with pytest.raises(ValueError, match="unknown encoder term"):
        losses.encoder_penalty(z, zf, "l1")


def test_each_loss_name_picks_its_loss_and_round_trips_in_the_model():
    # The registries pair config's names, in their order, with what they name.
    assert losses.GAN_LOSSES == {"qp": losses.ogan_qp_loss, "hinge": losses.ogan_hinge_loss,
                                 "ns": losses.ogan_nonsaturating_loss}
    assert losses.ENCODER_TERMS == {"rho": losses.rho_penalty, "mse": losses.mse_penalty}
    model = tiny_ogan()
    clone = OGAN.from_config({**model.get_config(), "gan_loss": "hinge", "encoder_term": "mse"})
    assert (clone.gan_loss, clone.encoder_term) == ("hinge", "mse")
    # A file without the keys loads as the author's loss.
    old = {k: v for k, v in model.get_config().items() if k not in ("gan_loss", "encoder_term")}
    restored = OGAN.from_config(old)
    assert (restored.gan_loss, restored.encoder_term) == ("qp", "rho")
    with pytest.raises(config.ConfigError, match="unknown gan_loss 'wgan'"):
        config.Config(gan_loss="wgan")
