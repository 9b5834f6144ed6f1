"""BatchNorm in G and E: synchronised across replicas or not, kept out of
saved files, and the momentum the fused step squares."""

import contextlib
import threading

import keras


def batchnorm_layers(model):
    return [la for la in model.layers if isinstance(la, keras.layers.BatchNormalization)]


def set_synchronized_batchnorm(models, on):
    """BN in `models` normalises with the statistics of the global batch (all
    replicas) when `on`, else of each replica's own rows. TensorFlow only:
    Keras reads the flag when it traces the step; on JAX the data-parallel
    program's statistics are always those of the global batch."""
    if keras.backend.backend() != "tensorflow":
        return
    for model in models:
        for bn in batchnorm_layers(model):
            bn.synchronized = bool(on)


@contextlib.contextmanager
def unsynchronized_batchnorm(models):
    """Saved files never say synchronized=True (JAX refuses to load that):
    it is a run setting (Config.sync_batchnorm), applied after loading."""
    bns = [bn for model in models for bn in batchnorm_layers(model)]
    saved = [bn.synchronized for bn in bns]
    for bn in bns:
        bn.synchronized = False
    try:
        yield
    finally:
        for bn, value in zip(bns, saved):
            bn.synchronized = value


class SquaredMomentum:
    """The BN layers of one model use momentum**2 for the calls made inside
    ``with squared():``.

    One update with m**2 equals the two updates with m that the author's
    graph makes from the same batch statistics (E on G(z) and on its
    stop-gradient copy): m(m v + (1-m) s) + (1-m) s = m**2 v + (1-m**2) s.
    Keras reads the momentum when the step is traced, so this is exact.
    Re-entrant: MirroredStrategy traces its replicas in threads that take
    turns at every collective, so several may be inside at once (see
    replicas.wait_for_replicas); the momentum comes back when the last one
    leaves. One object per model (the OGAN keeps E's), so the count and the
    saved momenta live with it, not in a global table.
    """

    def __init__(self, model):
        self.model = model
        self._lock = threading.Lock()
        self._inside = 0
        self._momenta = []

    @contextlib.contextmanager
    def __call__(self):
        with self._lock:
            if self._inside == 0:
                self._bns = batchnorm_layers(self.model)
                self._momenta = [bn.momentum for bn in self._bns]
                for bn, momentum in zip(self._bns, self._momenta):
                    bn.momentum = momentum**2
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1
                if self._inside == 0:
                    for bn, momentum in zip(self._bns, self._momenta):
                        bn.momentum = momentum
