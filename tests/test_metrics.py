"""FID maths, SWD and the evaluation figures, on small offline data (the FID
networks, KID and the reference statistics: test_fid.py)."""

import numpy as np
import pytest

from ogan_tf.data import images, shapes, sources
from ogan_tf.evaluation import features, fid, metrics
from ogan_tf.evaluation.feature_distances import frechet_distance

from conftest import tiny_config, tiny_networks

CONFIG = tiny_config()


def noisy(images, sigma, seed=0):
    noise = np.random.default_rng(seed).normal(0, sigma, images.shape)
    return np.clip(images + noise, 0, 255).astype(np.uint8)


def tiny_features(images):
    """A fixed random projection of 8x8 average-pooled pixels: a cheap,
    deterministic stand-in for InceptionV3 to test the FID maths with."""
    x = images.astype(np.float64).reshape(len(images), 8, 4, 8, 4, 3).mean(axis=(2, 4))
    proj = np.random.default_rng(42).normal(size=(8 * 8 * 3, 32))
    return np.tanh(x.reshape(len(x), -1) @ proj / 255.0)


def test_frechet_distance_of_known_gaussians():
    a = np.random.default_rng(0).normal(size=(4000, 6))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    # Mean shifted by 0.5 in each of 6 dims: 6 * 0.25; scale x2: tr(I + 4I - 2 * 2I) = 6
    assert frechet_distance(a, a + 0.5) == pytest.approx(1.5, rel=1e-6)
    assert frechet_distance(a, 2 * a) == pytest.approx(6.0, rel=0.05)
    # Fewer samples than features: singular covariances still give a finite value
    few = np.random.default_rng(1).normal(size=(10, 50))
    assert frechet_distance(few, few) == pytest.approx(0.0, abs=1e-6)


def test_fid_is_zero_for_a_set_against_itself_and_grows_with_noise():
    images, _ = shapes.make_shapes(300, 32, seed=5)
    feats = tiny_features(images)
    fids = [frechet_distance(feats, tiny_features(noisy(images, s))) for s in (0, 10, 40)]
    assert fids[0] == pytest.approx(0.0, abs=1e-9)
    assert fids[0] < fids[1] < fids[2], fids


def test_laplacian_pyramid_levels_and_exact_reconstruction():
    x = images.to_float(shapes.make_shapes(3, 64, seed=1)[0])
    levels = metrics.laplacian_pyramid(x)
    assert [lvl.shape[1] for lvl in levels] == [64, 32, 16]
    rebuilt = levels[-1]
    for band in reversed(levels[:-1]):
        rebuilt = metrics.pyramid_up(rebuilt) + band
    assert np.allclose(rebuilt, x, atol=1e-5)
    flat = metrics.laplacian_pyramid(np.full((1, 32, 32, 3), 0.3, np.float32))
    assert np.allclose(flat[0], 0, atol=1e-6) and np.allclose(flat[1], 0.3)


def test_sliced_wasserstein_is_zero_for_equal_sets_and_the_1d_distance_otherwise():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 5)).astype(np.float32)
    assert metrics.sliced_wasserstein(a, a.copy(), 64, rng) == 0.0
    # A shift c along every direction d moves each projection by c . d.
    shift = np.array([1.0, 0, 0, 0, 0], np.float32)
    dirs_rng = np.random.default_rng(1)
    got = metrics.sliced_wasserstein(a, a + shift, 64, np.random.default_rng(1))
    dirs = dirs_rng.standard_normal((5, 64)).astype(np.float32)
    dirs /= np.linalg.norm(dirs, axis=0)
    assert got == pytest.approx(np.abs(dirs[0]).mean(), rel=1e-4)


def test_swd_of_a_set_against_itself_is_small_and_grows_with_noise():
    images, _ = shapes.make_shapes(64, 32, seed=2)
    kw = dict(per_image=32, directions=128)
    same = metrics.swd(images, images, **kw)
    assert set(same) == {"swd_32", "swd_16", "swd"}
    small = metrics.swd(images, noisy(images, 8), **kw)
    big = metrics.swd(images, noisy(images, 40), **kw)
    assert same["swd"] < small["swd"] < big["swd"], (same, small, big)
    assert same["swd"] < 0.5 * big["swd"]


def test_evaluate_tiny_random_models_gives_every_figure(tmp_path):
    G, E = tiny_networks()
    network = features.FeatureNetwork("tiny", tiny_features, False, "test")
    plan = fid.FidPlan(network, sample_images=24, real_images=40, runs_dir=tmp_path)
    figures = metrics.evaluate(G, E, CONFIG, n=16, fid=plan)
    expected = {
        "z_corr_fresh", "code_dim_mean_abs", "code_dim_std_mean", "code_dim_std_min",
        "code_dim_std_max", "critic_real", "critic_fake", "recon_mse", "recon_mse_other",
        "recon_ssim", "recon_ssim_other", "swd_samples", "swd_samples_32", "swd_samples_16",
        "swd_recon", "swd_recon_32", "swd_recon_16", "fid_samples", "fid_recon",
        "kid_samples", "kid_samples_std", "kid_samples_subset_size", "kid_recon",
        "kid_recon_std", "kid_recon_subset_size", "kid_subsets", "fid_network",
        "fid_network_file", "fid_network_sha256", "fid_comparable", "fid_real_images",
        "fid_sample_images", "fid_recon_images", "eval_images", "eval_seconds",
    }
    assert set(figures) == expected
    # Every FID row names its network and counts
    assert (figures["fid_network"], figures["fid_comparable"]) == ("tiny", False)
    assert (figures["fid_real_images"], figures["fid_sample_images"],
            figures["fid_recon_images"], figures["kid_samples_subset_size"]) == (40, 24, 16, 24)
    assert all(np.isfinite(v) for v in figures.values() if not isinstance(v, str))
    assert -1 <= figures["z_corr_fresh"] <= 1 and figures["recon_mse"] > 0
    # N(E(x)) has unit std per code, so the per-dimension stds average near 1
    assert 0.3 < figures["code_dim_std_mean"] < 1.5


def test_evaluate_on_a_folder_uses_only_its_distinct_held_out_images(tmp_path):
    import imageio.v3 as iio

    for i, image in enumerate(shapes.make_shapes(20, 40, seed=3)[0]):
        iio.imwrite(tmp_path / f"{i:02d}.png", image)
    config = tiny_config("folder", data_path=str(tmp_path), resolution=32, batch_size=4)
    assert sources.open_source(config).heldout_count == 4  # 20 // 5
    assert sources.open_source(CONFIG).heldout_count is None
    G, E = tiny_networks()
    messages = []
    figures = metrics.evaluate(G, E, config, n=100, log=messages.append)
    assert figures["eval_images"] == 4 and "holds back 4 images" in messages[0]
