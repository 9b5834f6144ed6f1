"""The figures of the real-data quality study (research/quality.py) that need
no model: the read-outs, PCA's, and the pixel judge of reconstructions.
(pytest puts this folder on sys.path, so `quality` is the study beside it.)"""

import numpy as np

import quality


def clusters(n, seed):
    """uint8 4x4 RGB 'images' of three classes: noise around grey 80, class c
    brighter by 100 in channel c (each class in a direction of its own)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    images = 80 + rng.integers(-20, 21, (n, 4, 4, 3))
    images[np.arange(n), :, :, labels] += 100
    return images.astype(np.uint8), labels


def test_the_pixel_judge_reads_the_class_of_what_it_is_shown():
    train_x, train_y = clusters(60, seed=0)
    held_x, held_y = clusters(30, seed=1)
    judge = quality.pixel_judge(train_x, train_y, classes=3)
    assert (judge(held_x) == held_y).all()
    # 'reconstructions' that lost their class: every one shown as class 0
    lost = np.full_like(held_x, 80)
    lost[..., 0] += 100
    assert (judge(lost) == 0).all()


def grey(values):
    return np.stack([np.full((4, 4, 3), v, np.uint8) for v in values])


def test_the_judge_s_k_nearest_vote_and_a_tie_goes_to_the_nearer_images():
    k = quality.JUDGE_K
    # the k nearest vote: one nearer image of class 0 is outvoted by k - 1 of class 1
    majority = quality.pixel_judge(grey([100, *range(103, 102 + k)]),
                                   np.array([0] + [1] * (k - 1)), classes=2)
    assert majority(grey([99]))[0] == 1
    # k // 2 votes each for classes 0 and 1 (and, k odd, one for a far class 2):
    # the class of the nearer images wins
    half = k // 2
    values = [*range(100, 100 + half), *range(150, 150 + half), *([200] * (k % 2))]
    labels = np.array([0] * half + [1] * half + [2] * (k % 2))
    tie = quality.pixel_judge(grey(values), labels, classes=3)
    assert tie(grey([99]))[0] == 0
    assert tie(grey([150 + half]))[0] == 1


def test_pca_figures_at_full_width_lose_nothing():
    train_x, train_y = clusters(90, seed=2)
    held_x, held_y = clusters(30, seed=3)
    full = quality.pca_figures(train_x, held_x, train_y, held_y, width=48, classes=3)
    assert full["pca_recon_mse"] < 1e-10  # 48 = all the pixels: PCA is a rotation
    assert full["pca"] == full["pixels"] == 1.0
    narrow = quality.pca_figures(train_x, held_x, train_y, held_y, width=2, classes=3)
    assert narrow["pca_recon_mse"] > 1e-3 and narrow["pca"] == 1.0  # the class means span 2 axes
