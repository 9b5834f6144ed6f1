"""A direction in code space for the API: found from examples of two
classes, or taken from what a user gives (a Direction, a direction file or
an array) and checked against the model. The read-outs themselves are
fit.py's; the files, files.py's."""

from pathlib import Path

import numpy as np

from ..messages import say
from . import files, fit


def check_examples(positive, negative, images, values):
    """DirectionError unless the examples are positive and negative, or
    images with values."""
    if (positive is None) != (negative is None) or (positive is None) == (images is None):
        raise fit.DirectionError("give positive and negative examples, or images with values")
    if images is not None and values is None:
        raise fit.DirectionError("images need values (one per image)")


def from_classes(positive, negative, heldout=fit.HELDOUT, seed=0):
    """(unit vector, stats) of the logistic read-out separating the codes of
    two classes; positive, negative: (codes, names) of the examples.
    DirectionError when both are the same images."""
    (pos, pos_names), (neg, neg_names) = positive, negative
    if pos_names and pos_names == neg_names:
        raise fit.DirectionError("the positive and negative examples are the same images: "
                                 "one class only")
    codes = np.concatenate([pos, neg])
    labels = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    return fit.find_direction(codes, labels, True, heldout, seed)


def unit_vector(direction, z_dim, here=None, log=say, row=None):
    """A unit (z_dim,) float32 vector from a Direction, a direction file or an
    array. here: the model's info (run, step); a direction found on another
    run or step is used with a note in the log. row: which row of a file of
    (k, z_dim) directions (GANSpace)."""
    if isinstance(direction, files.Direction):
        vector, info = direction.vector, direction.info
    elif isinstance(direction, (str, Path)):
        vector, info = files.load_direction(direction, z_dim, row)
    else:
        vector, info = np.asarray(direction, np.float32), {}
    if vector.shape != (z_dim,):
        raise fit.DirectionError(f"a direction of shape {vector.shape}; this model's "
                                 f"codes are ({z_dim},)")
    found = (info.get("run"), info.get("step"))
    here = ((here or {}).get("run"), (here or {}).get("step"))
    if found[0] is not None and here[0] is not None and found != here:
        name = f" {direction}" if isinstance(direction, (str, Path)) else ""
        log(f"note: the direction{name} was found on run {found[0]!r} step {found[1]}; "
            f"this model is run {here[0]!r} step {here[1]}")
    return fit.unit(vector).astype(np.float32)
