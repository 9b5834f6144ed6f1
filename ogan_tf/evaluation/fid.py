"""FID and KID of a trained G's samples and reconstructions, rows that say
what they are.

A FidPlan fixes what a figure depends on: the feature network
(evaluation/features.py), the number of samples (``--fid-images``: 50,000 where a
GPU is at hand, StyleGAN's ``fid50k_full`` convention, else
CPU_FID_IMAGES), and the number of real images of the reference statistics
(``--fid-real``: every training image where a GPU is at hand, as
``fid50k_full``, else as many as the samples; evaluation/reference.py caches them
once per data set). Samples are drawn, featurised and dropped batch by
batch, so 50,000 of them never sit in memory as images.

Every row names its network (``fid_network``, its file and sha256,
``fid_comparable``) and its counts (``fid_real_images``,
``fid_sample_images``, ``fid_recon_images``, ``kid_subset_size``,
``kid_subsets``): FID is biased at small counts, and the fallback network
is not the papers' (docs/evaluation.md).
"""

import dataclasses
from pathlib import Path

import numpy as np

from ..data.sources import open_source
from ..errors import OganError
from ..inference.model_calls import decode
from ..messages import say
from .feature_distances import KID_SUBSETS, frechet_to_features, kernel_distance
from .features import FeatureNetwork, feature_network
from .reference import reference_stats

GPU_FID_IMAGES = 50_000  # fid50k_full
CPU_FID_IMAGES = 1_000  # InceptionV3 costs ~0.33 CPU-s an image here (docs/evaluation.md)
SAMPLE_BATCH = 250


@dataclasses.dataclass
class FidPlan:
    """network: a FeatureNetwork; sample_images: G(z) featurised;
    real_images: the reference's count (None: every training image);
    runs_dir: where reference statistics go when not beside the data."""

    network: FeatureNetwork
    sample_images: int
    real_images: int | None
    runs_dir: Path


def fid_plan(network="auto", sample_images=None, real_images=None, runs_dir="runs",
             log=say, accelerator=False):
    """A FidPlan from the command's flags (None: the defaults above, for a
    GPU where `accelerator`, training/hardware.py's finding; a network name or
    path, or a FeatureNetwork)."""
    for flag, value in (("--fid-images", sample_images), ("--fid-real", real_images)):
        if value is not None and (value < 0 or (flag == "--fid-images" and value < 2)):
            raise OganError(f"{flag} must be at least {2 if flag == '--fid-images' else 0}, "
                            f"got {value}")
    if not isinstance(network, FeatureNetwork):
        network = feature_network(network, log)
    if sample_images is None:
        sample_images = GPU_FID_IMAGES if accelerator else CPU_FID_IMAGES
    if real_images is None:
        real_images = None if accelerator else sample_images
    return FidPlan(network, int(sample_images), real_images or None, Path(runs_dir))


def sample_features(generator, network, count, seed=0):
    """Features of `count` samples G(z), z ~ N(0, I) from seed, made and
    featurised SAMPLE_BATCH at a time."""
    z_dim = int(generator.input_shape[-1])
    rng = np.random.default_rng([seed, 11])
    out = []
    for lo in range(0, count, SAMPLE_BATCH):
        z = rng.standard_normal((min(SAMPLE_BATCH, count - lo), z_dim)).astype(np.float32)
        out.append(np.asarray(network.features(decode(generator, z)), np.float32))
    return np.concatenate(out)


def distance_figures(name, reference, features, seed=0):
    """fid_<name>, kid_<name> and kid_<name>_std of features against a Reference."""
    kid, spread, subset = kernel_distance(reference.features, features, seed=seed)
    return {f"fid_{name}": frechet_to_features(reference.mu, reference.sigma,
                                               reference.sqrt_sigma, features),
            f"kid_{name}": kid, f"kid_{name}_std": spread, f"kid_{name}_subset_size": subset}


def fid_figures(generator, config, plan, recon, seed=0, log=None):
    """FID and KID of plan.sample_images samples and of the reconstructions
    `recon` (uint8, of held-out images) against the data set's reference
    statistics, with the network and the counts."""
    reference = reference_stats(open_source(config), config, plan.network,
                                plan.real_images, plan.runs_dir, log)
    if log:
        log(f"FID and KID: {plan.network.name} features of {plan.sample_images} samples "
            f"and {len(recon)} reconstructions")
    figures = {**plan.network.row(), "fid_real_images": reference.count,
               "fid_sample_images": plan.sample_images, "fid_recon_images": len(recon),
               "kid_subsets": KID_SUBSETS}
    samples = sample_features(generator, plan.network, plan.sample_images, seed)
    figures.update(distance_figures("samples", reference, samples, seed))
    figures.update(distance_figures("recon", reference, plan.network.features(recon), seed))
    return figures
