"""The NaN scan: which weights of a model and its optimizer are not finite."""

from keras import ops

from .keras_private import sync_jax_state


def nonfinite_weights(model):
    """Paths of the model's and its optimizer's float variables that hold a
    NaN or an infinity ([] where all are finite): one reduction per variable
    and one device read for all, so it is cheap next to writing a file.
    Called before a checkpoint or grid is written, never per step."""
    sync_jax_state(model)
    variables = list(model.weights)
    if getattr(model, "optimizer", None) is not None:
        variables += list(model.optimizer.variables)
    variables = [v for v in variables if "float" in str(v.dtype)]
    if not variables:
        return []
    finite = ops.convert_to_numpy(ops.stack([ops.all(ops.isfinite(v)) for v in variables]))
    return [v.path for v, ok in zip(variables, finite) if not ok]
