"""The figures of the real-data benchmark (benchmarks/quality.py) that need
no model: the read-outs, PCA's, and the pixel judge of reconstructions."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import quality  # noqa: E402


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
    # a tie of votes goes to the class of the nearer images
    tie_x = np.stack([np.full((4, 4, 3), v, np.uint8) for v in (100, 101, 102, 150, 151)])
    tie_judge = quality.pixel_judge(tie_x, np.array([0, 0, 1, 1, 2]), classes=3)
    assert quality.JUDGE_K == 5
    assert tie_judge(np.full((1, 4, 4, 3), 99, np.uint8))[0] == 0
    assert tie_judge(np.full((1, 4, 4, 3), 152, np.uint8))[0] == 1


def test_pca_figures_at_full_width_lose_nothing():
    train_x, train_y = clusters(90, seed=2)
    held_x, held_y = clusters(30, seed=3)
    full = quality.pca_figures(train_x, held_x, train_y, held_y, width=48, classes=3)
    assert full["pca_recon_mse"] < 1e-10  # 48 = all the pixels: PCA is a rotation
    assert full["pca"] == full["pixels"] == 1.0
    narrow = quality.pca_figures(train_x, held_x, train_y, held_y, width=2, classes=3)
    assert narrow["pca_recon_mse"] > 1e-3 and narrow["pca"] == 1.0  # the class means span 2 axes
