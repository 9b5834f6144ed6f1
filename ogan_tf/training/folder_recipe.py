"""The folder recipe: what depends on a set of your own images, chosen from it.

`ogan-tf train --data <path>` without --preset starts from the `folder`
preset (experiments/folder.toml: the recipe measured on real images,
docs/recipe.md). Three of its settings depend on the set, and a new run
takes them from the data unless the command line gives them:

  resolution   the largest power of two not above the images' median short
               side, between 32 and MAX_RESOLUTION: training above the
               images' own size costs steps and shows nothing new
  steps        STEPS_PER_IMAGE per training image, between MIN_STEPS and the
               preset's steps: a small set seen hundreds of times teaches E
               its images by heart
  augment      DiffAugment's translation below AUGMENT_BELOW images
               (model/augment.py), none above (the evidence in docs/recipe.md:
               translation raised the codes' read-out on a small low-detail
               set; cutout too, but cost the reconstructions their class),
               by about one of the images' own pixels: up to 1/8 of the side
               (DiffAugment's) where the images hold 8 pixels of detail
               across or fewer, down to 1/16 where they hold 16 or more
               (detail_side: on 8x8 digits scaled up, 1/16 moved no detail
               and the codes fell below PCA; on MNIST, 1/8 moved strokes
               off and cost the reconstructions their class)

The run's log says what it chose and why. Author presets and every other
preset are left as they are.
"""

import math

import numpy as np
from PIL import Image

from ..config import FOLDER_PRESET
from ..data.images import BadImage
from ..data.sources import FolderSource, TFRecordSource, open_path
from ..errors import DataError
from ..messages import say

MAX_RESOLUTION = 128  # the author's real-data resolution; above it, a GPU's work
MIN_RESOLUTION = 32
SURVEYED = 64  # images whose size is read (headers only, spread over the set)
STEPS_PER_IMAGE = 4
MIN_STEPS = 3000
AUGMENT_BELOW = 20000
AUGMENT = "translation"  # cutout cost the reconstructions their class (docs/recipe.md)
# detail_side: the fewest pixels across (DETAIL_SIDES) that rebuild the
# surveyed images, scaled down (box) and back up (bicubic), within
# DETAIL_ERROR of their variance
DETAIL_SIDES = range(8, 17)
DETAIL_ERROR = 0.05


def surveyed(source):
    """Up to SURVEYED indices spread evenly over `source`."""
    return np.unique(np.linspace(0, len(source) - 1, SURVEYED).astype(int))


def median_side(source):
    """The median short side of up to SURVEYED images of `source` (None where
    its format keeps no sizes we can read cheaply: LMDB)."""
    if isinstance(source, TFRecordSource):
        return source.file_resolution
    if not isinstance(source, FolderSource):
        return None
    sides = []
    for i in surveyed(source):
        try:
            with Image.open(source.name(i)) as image:  # reads the header only
                sides.append(min(image.size))
        except (OSError, ValueError):
            continue  # a broken file: the pipeline skips it too
    return int(np.median(sides)) if sides else None


def detail_side(source):
    """The fewest of DETAIL_SIDES pixels across that hold the detail of up to
    SURVEYED of `source`'s images (None: more than the largest; also where
    none could be read)."""
    grey = []
    for i in surveyed(source):
        try:
            grey.append(source.load(int(i))[0].astype(np.float32).mean(-1))
        except (OSError, ValueError, DataError, BadImage):
            continue  # a broken file: the pipeline skips it too
    if not grey:
        return None
    variance = float(np.var(grey)) or 1.0  # one flat colour: every side holds it
    height, width = grey[0].shape
    for side in DETAIL_SIDES:
        error = np.mean([np.mean((np.asarray(
            Image.fromarray(g).resize((side, side), Image.BOX).resize((width, height),
                                                                      Image.BICUBIC)) - g) ** 2)
            for g in grey])
        if error <= DETAIL_ERROR * variance:
            return side
    return None


def translation_for(detail):
    """Config.augment's translation entry for detail_side's answer: a shift
    of up to one detail pixel, 1/side of the side (None: finer than the
    largest side); at the smallest side, 1/8, DiffAugment's own."""
    side = detail or DETAIL_SIDES[-1]
    return AUGMENT if side <= DETAIL_SIDES[0] else f"{AUGMENT}:{1 / side:.3g}"


def resolution_for(side):
    if side is None:
        return None
    power = 2 ** int(math.floor(math.log2(max(side, 1))))
    return int(min(MAX_RESOLUTION, max(MIN_RESOLUTION, power)))


def steps_for(images, most):
    return int(min(most, max(MIN_STEPS, STEPS_PER_IMAGE * images)))


def choose(config, given, log=say):
    """config with the set-dependent settings chosen from its data (a new run
    of the folder preset only); `given`: the settings the command line gave."""
    if config.preset != FOLDER_PRESET:
        return config
    try:
        source = open_path(str(config.data_path), config.resolution, config.dataset)
    except DataError:
        return config  # open_source says what is wrong, in the caller's words
    images = len(source) - source.heldout_count
    changes, why = {}, []
    side = median_side(source)
    resolution = resolution_for(side)
    if "resolution" not in given and resolution:
        changes["resolution"] = resolution
        why.append(f"resolution {resolution} (the images' median short side is {side} px)")
    if "steps" not in given:
        steps = steps_for(images, config.steps)
        changes["steps"] = steps
        why.append(f"steps {steps} ({STEPS_PER_IMAGE} per training image, between "
                   f"{MIN_STEPS} and {config.steps})")
    if "augment" not in given and images >= AUGMENT_BELOW:
        changes["augment"] = "none"
        why.append(f"augment none ({images:,} training images; DiffAugment below "
                   f"{AUGMENT_BELOW:,})")
    elif "augment" not in given:
        detail = detail_side(source)
        changes["augment"] = translation_for(detail)
        held = f"{detail} pixels across" if detail else f"more than {DETAIL_SIDES[-1]} pixels across"
        why.append(f"augment {changes['augment']} ({images:,} training images, DiffAugment "
                   f"below {AUGMENT_BELOW:,}; their detail holds {held}: a shift of about "
                   "one of its pixels)")
    if why:
        log("folder recipe: " + "; ".join(why) + " (override with --resolution, --steps, "
            "--augment)")
    return config.replace(**changes)
