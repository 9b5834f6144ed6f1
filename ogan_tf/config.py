"""One frozen dataclass holds every setting; presets live in experiments/.

A preset is a small TOML file ``experiments/<name>.toml`` whose keys are
Config fields. ``load_preset(name, **overrides)`` reads it and applies
command-line overrides; the result is validated once, here.
"""

import dataclasses
import json
import math
import tomllib
from pathlib import Path

from .errors import ConfigError

EXPERIMENTS_DIR = Path(__file__).resolve().parent.parent / "experiments"
DEFAULT_PRESET = "shapes"  # the offline default data set

# Network variants, name -> (kernel size, self-modulated BN in G)
VARIANTS = {
    "dcgan_5x5": (5, False),  # o_gan_celeba.py / o_gan_lsun.py
    "sm_4x4": (4, True),  # o_gan_celeba_sm_4x4.py ("the better one")
}

# Keras dtype policies for G and E. Correlation, means, QP term and loss are
# float32 in all of them (losses.py sees float32 codes and images).
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# losses.GAN_LOSSES and losses.ENCODER_TERMS (named here: no keras import)
GAN_LOSS_NAMES = ("qp", "hinge", "ns")
ENCODER_TERM_NAMES = ("rho", "mse")
STRATEGY_NAMES = ("none", "mirrored", "multi-worker", "data-parallel")  # distribute.py

MIN_RESOLUTION = 32
MIN_Z_DIM = 3  # avg, std and N(z) are independent only from 3 dims on


def check_geometry(resolution, z_dim, variant="dcgan_5x5", channels=None):
    """Raise ConfigError, saying what to do, for settings G/E can't be built with."""
    if variant not in VARIANTS:
        raise ConfigError(
            f"unknown variant {variant!r}; use one of: {', '.join(VARIANTS)}"
        )
    if (
        not isinstance(resolution, int)
        or resolution < MIN_RESOLUTION
        or resolution & (resolution - 1)
    ):
        raise ConfigError(
            f"resolution {resolution} is not a power of two >= {MIN_RESOLUTION}; "
            "use 32, 64, 128, 256, ..."
        )
    if not isinstance(z_dim, int) or z_dim < MIN_Z_DIM:
        raise ConfigError(
            f"z_dim {z_dim} is below {MIN_Z_DIM}: the correlation term needs at "
            "least 3 dimensions; use e.g. 32, 64 or 128"
        )
    num_layers = int(math.log2(resolution)) - 3
    if channels is not None and (channels < 2**num_layers or channels % 2**num_layers):
        raise ConfigError(
            f"channels {channels} must be a multiple of {2**num_layers} at "
            f"resolution {resolution} (it is halved {num_layers} times)"
        )


@dataclasses.dataclass(frozen=True)
class Config:
    # What to train on
    preset: str = DEFAULT_PRESET  # name of the experiments/ file it came from
    dataset: str = "shapes"
    dataset_size: int = 50000  # images generated for "shapes"
    resolution: int = 32
    # Networks (VARIANTS); channels None = the author's img * 8
    variant: str = "dcgan_5x5"
    z_dim: int = 128
    channels: int | None = None
    # The algorithm: the author's loss and optimizer
    rho_weight: float = 0.5
    qp_weight: float = 0.25
    learning_rate: float = 1e-4
    rmsprop_rho: float = 0.99
    batch_size: int = 64
    seed: int = 0
    # Schedule (in steps)
    steps: int = 2400
    log_every: int = 100  # one Keras epoch; one metrics.jsonl row
    sample_every: int = 500
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    # Grids: reconstruction is G(recon_scale * N(E(x)))
    recon_scale: float = 0.9
    interpolation_steps: int = 10
    # Weight EMAs (the author's 256 px script: 0.999 and 0.9999). Each decay
    # keeps a moving average of all G and E weights, saved beside every
    # checkpoint; grids and exports use the first one. () = none (128 px).
    ema_decays: tuple = ()
    # Speed (README "Speed"). The defaults compute exactly the author's step.
    precision: str = "float32"  # PRECISIONS; mixed_float16 adds loss scaling (GPUs)
    fused_step: bool = False  # one E pass on G(z) serves both players (TF and JAX)
    jit_compile: bool | str = "auto"  # XLA: "auto" = Keras' choice (on with a GPU)
    # Data on disk (dataset "folder", "lmdb", "tfrecords" or "auto" = detect;
    # see data.py). data_path: relative to the data root (data_dir, else
    # $OGAN_DATA_DIR, else ~/ogan_data) or absolute. data_source: how to get
    # the data, shown when it is missing. crop_max: the square centre crop's
    # side is min(crop_max, h, w), 0 = min(h, w) (the author: 256 on LSUN).
    # jpeg_draft: decode JPEGs at a reduced DCT scale that still covers the
    # crop (2-8x faster on large JPEGs; False = full decode, as the author).
    data_path: str = ""
    data_dir: str = ""
    data_source: str = ""
    crop_max: int = 0
    jpeg_draft: bool = True
    # Loss variants (losses.GAN_LOSSES, losses.ENCODER_TERMS), to test the
    # article's claims; the defaults are the author's. rho_weight weighs the
    # encoder term whichever it is.
    gan_loss: str = "qp"
    encoder_term: str = "rho"
    # Evaluation (metrics.evaluate) every eval_every steps into metrics.jsonl;
    # 0 = off. FID needs the InceptionV3 weights file (see metrics.py).
    eval_every: int = 0
    eval_images: int = 1000
    eval_fid: bool = False
    # TensorBoard scalars and grids in runs/<run>/tensorboard/.
    tensorboard: bool = False
    # runs/<run>/export/ when training ends (export.py): "keras" (the .keras
    # files, under a second), "all" (+ TF SavedModels, a few seconds) or "none".
    export_at_end: str = "keras"
    # Scaling out (distribute.py, README "Scaling out"): none, mirrored,
    # multi-worker (TensorFlow) or data-parallel (JAX). batch_size is the
    # global batch, split over the replicas. sync_batchnorm: BN statistics of
    # the global batch on every replica (the author's, with one device per
    # run) instead of each replica's own rows. Both may change on resume.
    strategy: str = "none"
    sync_batchnorm: bool = False

    def __post_init__(self):
        check_geometry(self.resolution, self.z_dim, self.variant, self.channels)
        positive = (
            "dataset_size", "batch_size", "steps", "log_every", "sample_every",
            "checkpoint_every", "keep_checkpoints", "interpolation_steps",
        )
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.batch_size < 2:
            raise ConfigError("batch_size must be at least 2 (BatchNorm needs a batch)")
        if self.interpolation_steps < 8:
            raise ConfigError("interpolation_steps must be at least 8")
        for name in ("rho_weight", "qp_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("learning_rate", "recon_scale"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        object.__setattr__(self, "ema_decays", tuple(float(d) for d in self.ema_decays))
        for decay in self.ema_decays:
            if not 0 < decay < 1:
                raise ConfigError(f"ema_decays must each be in (0, 1), got {decay}")
        if len(set(self.ema_decays)) != len(self.ema_decays):
            raise ConfigError(f"ema_decays has a repeated value: {self.ema_decays}")
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"unknown precision {self.precision!r}; use one of: {', '.join(PRECISIONS)}"
            )
        if not isinstance(self.fused_step, bool):
            raise ConfigError(f"fused_step must be true or false, got {self.fused_step!r}")
        if self.jit_compile not in (True, False, "auto"):
            raise ConfigError(
                f"jit_compile must be true, false or \"auto\", got {self.jit_compile!r}"
            )
        if not isinstance(self.crop_max, int) or self.crop_max < 0:
            raise ConfigError(f"crop_max must be an integer >= 0, got {self.crop_max!r}")
        if self.gan_loss not in GAN_LOSS_NAMES:
            raise ConfigError(
                f"unknown gan_loss {self.gan_loss!r}; use one of: {', '.join(GAN_LOSS_NAMES)}"
            )
        if self.encoder_term not in ENCODER_TERM_NAMES:
            raise ConfigError(
                f"unknown encoder_term {self.encoder_term!r}; use one of: "
                f"{', '.join(ENCODER_TERM_NAMES)}"
            )
        if not isinstance(self.eval_every, int) or self.eval_every < 0:
            raise ConfigError(f"eval_every must be 0 (off) or a positive integer, "
                              f"got {self.eval_every!r}")
        if not isinstance(self.eval_images, int) or self.eval_images < 2:
            raise ConfigError(f"eval_images must be an integer >= 2, got {self.eval_images!r}")
        if self.export_at_end not in ("keras", "all", "none"):
            raise ConfigError(f"export_at_end must be keras, all or none, "
                              f"got {self.export_at_end!r}")
        if self.strategy not in STRATEGY_NAMES:
            raise ConfigError(f"unknown strategy {self.strategy!r}; use one of: "
                              f"{', '.join(STRATEGY_NAMES)}")
        if not isinstance(self.sync_batchnorm, bool):
            raise ConfigError(f"sync_batchnorm must be true or false, "
                              f"got {self.sync_batchnorm!r}")
        if not 0 < self.rmsprop_rho < 1:
            raise ConfigError(f"rmsprop_rho must be in (0, 1), got {self.rmsprop_rho}")

    def to_dict(self):
        return dataclasses.asdict(self)

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, values):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(
                f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}"
            )
        return cls(**values)

    def replace(self, **changes):
        return self.from_dict({**self.to_dict(), **changes})


# Settings that define the model and its training: a run keeps them for life.
# Everything else (steps, intervals, grid options) may change on resume.
FIXED_FOR_RUN = (
    "preset", "dataset", "dataset_size", "resolution", "variant", "z_dim",
    "channels", "rho_weight", "qp_weight", "learning_rate", "rmsprop_rho",
    "batch_size", "seed", "ema_decays", "precision",
    "data_path", "crop_max",
    "gan_loss", "encoder_term",
)


def preset_names():
    return sorted(p.stem for p in EXPERIMENTS_DIR.glob("*.toml"))


def load_preset(name, **overrides):
    """Config from experiments/<name>.toml with overrides (None = not given)."""
    path = EXPERIMENTS_DIR / f"{name}.toml"
    if not path.is_file():
        raise ConfigError(
            f"unknown data/preset {name!r}; choose one of: {', '.join(preset_names())}"
        )
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"preset file {path} is not valid TOML: {err}") from None
    values.pop("description", None)
    values["preset"] = name
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Config.from_dict(values)
