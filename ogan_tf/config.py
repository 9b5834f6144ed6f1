"""Every setting of a run, each defined once; presets. (What --data names:
data/choice.py.)

A setting is one field of the frozen ``Config`` below, declared with
``setting(...)``: its default, help text, check, and whether a run keeps it
for life (``fixed``). The CLI's override flags, the validation and
``FIXED_FOR_RUN`` are all made from these declarations; adding a setting is
adding a field.

A preset is a small TOML file ``experiments/<name>.toml`` (package data:
installed, the folder is ``ogan_tf.experiments``) whose keys are
Config fields; ``base = "<other preset>"`` starts from another preset's
values. ``load_preset(name, **overrides)`` reads it and applies
command-line overrides; the result is validated once, here.
"""

import dataclasses
import json
import math
import tomllib
from importlib import resources

from .config_checks import (
    auto_or_boolean,
    boolean,
    ema_decay_list,
    in_unit_interval,
    int_at_least,
    non_negative,
    one_of,
    optional,
    positive,
    positive_int,
    text,
    unit_or_less,
)
from .errors import ConfigError

PRESETS_PACKAGE = "ogan_tf.experiments"  # the top-level experiments/ folder, installed
DEFAULT_PRESET = "shapes"  # the offline default data set
FOLDER_PRESET = "folder"  # what --data <path> trains with unless --preset says otherwise

# Network variants, name -> (kernel size, self-modulated BN in G)
VARIANTS = {
    "dcgan_5x5": (5, False),  # o_gan_celeba.py / o_gan_lsun.py
    "sm_4x4": (4, True),  # o_gan_celeba_sm_4x4.py ("the better one")
}
# E's normalisation after each convolution but the first (model/networks.py):
# batch (the author's BatchNormalization), none, layer (GroupNormalization with
# one group: each image's own statistics), spectral (spectral normalisation of
# E's kernels, no activation normalisation).
ENCODER_NORMS = ("batch", "none", "layer", "spectral")
# Keras dtype policies for G and E. Correlation, means, QP term and loss are
# float32 in all of them (model/losses.py sees float32 codes and images).
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# The names of the model's choices, defined only here (the bottom layer, no
# keras import): model/losses.py's GAN_LOSSES and ENCODER_TERMS,
# model/optimizer.py's RMSPROP_UPDATES and model/augment.py's AUGMENTS pair
# them, in this order, with what they name.
GAN_LOSS_NAMES = ("qp", "hinge", "ns")
ENCODER_TERM_NAMES = ("rho", "mse")
# Keras 2.2.4's RMSprop update (the author's) or Keras 3's
RMSPROP_UPDATE_NAMES = ("author", "keras3")
STRATEGY_NAMES = ("none", "mirrored", "multi-worker", "data-parallel")  # training/distribute.py
GENERATED_DATASETS = ("shapes",)  # made in-process (data/shapes.py)
DISK_FORMATS = ("auto", "folder", "lmdb", "tfrecords", "zip")  # read by data/sources.py
EXPORT_CHOICES = ("keras", "all", "none")
# DiffAugment's differentiable transforms of every image E sees
AUGMENT_NAMES = ("translation", "cutout")

MIN_RESOLUTION = 32
MIN_Z_DIM = 3  # avg, std and N(z) are independent only from 3 dims on


# Checks that name the lists above; the others are in config_checks.py.
def augment_list(name, value):
    """"none" or comma-separated names of AUGMENT_NAMES, each with an optional
    ":ratio" in (0, 1) (the fraction of the side)."""
    parts = [] if value == "none" else value.split(",") if isinstance(value, str) else [None]
    for part in parts:
        kind, colon, ratio = (part or "").partition(":")
        if kind not in AUGMENT_NAMES or colon and not _unit_fraction(ratio):
            raise ConfigError(f"{name} must be none or comma-separated names of "
                              f"{', '.join(AUGMENT_NAMES)}, each with an optional :ratio "
                              f"in (0, 1) (e.g. translation:0.0625), got {value!r}")


def _unit_fraction(text):
    try:
        return 0 < float(text) < 1
    except ValueError:
        return False


_declaring = {"section": ""}


def section(title):
    """Config's settings declared after this call belong to section `title`
    (`train --help` and `--dry-run` list them by section)."""
    _declaring["section"] = title


def setting(default, help, check, fixed=False, flag=True):
    """A Config field. help: what it is (the CLI flag's help); check(name,
    value) raises ConfigError; fixed: a run keeps it for life (a resume with
    another value is refused); flag: the train command has --<name>. Its
    section: the last section() called before it."""
    return dataclasses.field(default=default, metadata={
        "help": help, "check": check, "fixed": fixed, "flag": flag,
        "section": _declaring["section"]})


def check_resolution(name, value):
    if not isinstance(value, int) or value < MIN_RESOLUTION or value & (value - 1):
        raise ConfigError(f"{name} {value} is not a power of two >= {MIN_RESOLUTION}; "
                          "use 32, 64, 128, 256, ...")


def check_z_dim(name, value):
    if not isinstance(value, int) or value < MIN_Z_DIM:
        raise ConfigError(f"{name} {value} is below {MIN_Z_DIM}: the correlation term needs "
                          "at least 3 dimensions; use e.g. 32, 64 or 128")


def check_geometry(resolution, z_dim, variant="dcgan_5x5", channels=None):
    """Raise ConfigError, saying what to do, for settings G/E can't be built with."""
    one_of(*VARIANTS)("variant", variant)
    check_resolution("resolution", resolution)
    check_z_dim("z_dim", z_dim)
    num_layers = int(math.log2(resolution)) - 3
    if channels is not None and (channels < 2**num_layers or channels % 2**num_layers):
        raise ConfigError(
            f"channels {channels} must be a multiple of {2**num_layers} at "
            f"resolution {resolution} (it is halved {num_layers} times)"
        )


@dataclasses.dataclass(frozen=True)
class Config:
    section("data")
    preset: str = setting(DEFAULT_PRESET, "the experiments/ preset the run started from",
                          text, fixed=True, flag=False)
    dataset: str = setting(
        "shapes", "shapes (generated in-process) or a format on disk: auto (detect), "
        "folder, lmdb, tfrecords, zip", one_of(*GENERATED_DATASETS, *DISK_FORMATS),
        fixed=True, flag=False)
    dataset_size: int = setting(50000, "images generated for the shapes data set",
                                positive_int, fixed=True)
    resolution: int = setting(32, "image side in pixels (a power of two >= 32)",
                              check_resolution, fixed=True)
    # Data on disk: data_path is relative to the data root (data_dir, else
    # $OGAN_DATA_DIR, else ~/ogan_data) or absolute.
    data_path: str = setting("", "where a data set on disk is, relative to the data root "
                             "or absolute", text, fixed=True, flag=False)
    data_dir: str = setting("", "the data root preset data paths are relative to "
                            "(default $OGAN_DATA_DIR, else ~/ogan_data)", text)
    data_source: str = setting("", "how to get the data set, shown when it is missing",
                               text, flag=False)
    crop_max: int = setting(
        0, "side of the square centre crop: min(crop_max, h, w); 0 = min(h, w) "
        "(the author: 256 on LSUN)", int_at_least(0), fixed=True)
    jpeg_draft: bool = setting(
        True, "decode JPEGs at a reduced scale that still covers the crop (2-8x faster "
        "on large JPEGs); off decodes them in full, as the author", boolean)
    section("networks")
    variant: str = setting("dcgan_5x5", "network variant: dcgan_5x5 (the author's DCGAN) "
                           "or sm_4x4 (4x4 kernels, self-modulated BN in G)",
                           one_of(*VARIANTS), fixed=True)
    z_dim: int = setting(128, "code and noise width", check_z_dim, fixed=True)
    encoder_norm: str = setting(
        "batch", "E's normalisation: batch (the author's BatchNorm), none, layer (each "
        "image's own statistics) or spectral (spectral norm of E's weights)",
        one_of(*ENCODER_NORMS), fixed=True)
    channels: int | None = setting(None, "widest layer's channels (default: the author's "
                                   "resolution * 8)", optional(positive_int), fixed=True)
    section("loss and optimizer")  # the author's by default
    rho_weight: float = setting(0.5, "weight of the encoder term rho(z, E(G(z))) "
                                "(lambda_2: 0.5 at 128 px, 1.0 at 256 px)", non_negative,
                                fixed=True)
    qp_weight: float = setting(0.25, "factor of the GAN-QP penalty", non_negative, fixed=True)
    # May change on resume: a run that diverged resumes with a lower one.
    learning_rate: float = setting(1e-4, "RMSprop learning rate (may change on resume, "
                                   "e.g. lower after a divergence)", positive)
    rmsprop_rho: float = setting(0.99, "RMSprop's decay of the squared-gradient average",
                                 in_unit_interval, fixed=True)
    rmsprop_update: str = setting(
        "author", "RMSprop's step: author (Keras 2.2.4: lr g / (sqrt(v) + eps)) or keras3 "
        "(lr g / sqrt(v + eps), smaller where gradients are tiny)",
        one_of(*RMSPROP_UPDATE_NAMES), fixed=True)
    batch_size: int = setting(64, "images per step (the global batch under a strategy)",
                              int_at_least(2, " (BatchNorm needs a batch)"), fixed=True)
    seed: int = setting(0, "seed of the initial weights, the z draws and the data order",
                        int_at_least(0), fixed=True)
    # Loss variants, to test the article's claims; the defaults are the author's.
    gan_loss: str = setting("qp", "GAN loss around the rho term: qp (the author's GAN-QP), "
                            "hinge or ns (non-saturating)", one_of(*GAN_LOSS_NAMES),
                            fixed=True)
    encoder_term: str = setting("rho", "encoder term: rho (the article's) or mse "
                                "(||z - E(G(z))||^2, which the article says fails)",
                                one_of(*ENCODER_TERM_NAMES), fixed=True)
    section("schedule")  # in steps
    steps: int = setting(2400, "train up to this step", positive_int)
    log_every: int = setting(100, "steps per Keras epoch and metrics.jsonl row", positive_int)
    sample_every: int = setting(500, "steps between sample grids", positive_int)
    checkpoint_every: int = setting(500, "steps between checkpoints", positive_int)
    keep_checkpoints: int = setting(3, "newest checkpoints kept", positive_int)
    section("grids")
    recon_scale: float = setting(0.9, "s in reconstructions G(s * N(E(x)))", positive)
    interpolation_steps: int = setting(10, "decoded mixes per interpolation row",
                                       int_at_least(8))
    section("weight EMAs and augmentation")
    # Weight EMAs (the author's 256 px script: 0.999 and 0.9999), saved beside
    # every checkpoint; grids and exports use the first one.
    ema_decays: tuple = setting((), "decays of the weight EMAs, comma-separated "
                                "(e.g. 0.999,0.9999); none by default", ema_decay_list,
                                fixed=True)
    ema_rampup: float = setting(0.0, "EMA ramp-up (StyleGAN2-ADA): the half-life capped at "
                                "this fraction of the steps so far; 0 = off (the author)",
                                non_negative)
    # DiffAugment (model/augment.py): the same random transform of every image
    # E sees, real and generated, inside the step; none is the author's.
    augment: str = setting("none", "augment every image E sees: none (the author) or "
                           "comma-separated translation,cutout, each with an optional :ratio of the "
                           "side (translation:0.0625 shifts by up to 1/16)", augment_list)
    augment_p: float = setting(1.0, "the chance each augment transform reaches an image "
                               "(ADA's p); 1 = every image (DiffAugment)", unit_or_less)
    section("speed")
    # benchmarks/README.md. The defaults compute exactly the author's step.
    precision: str = setting("float32", "dtype policy of G and E; the loss stays float32 "
                             "(mixed_float16 adds loss scaling, for GPUs)",
                             one_of(*PRECISIONS), fixed=True)
    # auto: the faster on this machine, measured when a run starts (training/speed.py)
    fused_step: bool | str = setting(False, "one E pass on G(z) serves both players, same "
                                     "gradients (TensorFlow and JAX backends): on, off, or auto "
                                     "(measured)", auto_or_boolean)
    jit_compile: bool | str = setting("auto", "XLA: on, off, or auto (measured; on a short "
                                      "run Keras' choice: on with a GPU)", auto_or_boolean)
    section("evaluation and monitoring")
    eval_every: int = setting(0, "steps between evaluations into metrics.jsonl (0 = off)",
                              int_at_least(0))
    eval_images: int = setting(1000, "held-out images per evaluation", int_at_least(2))
    eval_fid: bool = setting(False, "FID and KID in evaluations during training (needs a "
                             "feature network file: docs/evaluation.md)", boolean)
    tensorboard: bool = setting(False, "TensorBoard scalars and grids in "
                                "runs/<run>/tensorboard/", boolean)
    export_at_end: str = setting("keras", "runs/<run>/export/ when training ends: keras "
                                 "(the .keras files), all (+ TF SavedModels) or none",
                                 one_of(*EXPORT_CHOICES))
    section("scaling out")  # docs/scaling.md
    strategy: str = setting(
        "none", "none (one device); mirrored (TensorFlow, all local GPUs); multi-worker "
        "(TensorFlow, several machines, cluster from $TF_CONFIG); data-parallel (JAX, all "
        "devices). --batch-size is the global batch", one_of(*STRATEGY_NAMES))
    sync_batchnorm: bool = setting(False, "BatchNorm statistics over the global batch on "
                                   "every replica (default: each replica's own rows)",
                                   boolean)

    def __post_init__(self):
        object.__setattr__(self, "ema_decays", tuple(
            float(d) if isinstance(d, (int, float)) else d for d in self.ema_decays))
        for field in dataclasses.fields(self):
            field.metadata["check"](field.name, getattr(self, field.name))
        check_geometry(self.resolution, self.z_dim, self.variant, self.channels)  # channels

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

    @classmethod
    def from_saved(cls, values):
        """The Config of a saved config.json: a setting added since the run was
        saved takes the value the run trained with (SAVED_BEFORE), not today's
        default."""
        return cls.from_dict({**SAVED_BEFORE, **values})

    def replace(self, **changes):
        return self.from_dict({**self.to_dict(), **changes})

    @property
    def on_disk(self):
        """True for a data set read from disk (not generated in-process)."""
        return self.dataset in DISK_FORMATS


# Settings added after runs were saved, with the value a config.json that
# lacks them trained with.
SAVED_BEFORE = {
    "rmsprop_update": "keras3",  # a config.json without it trained with Keras 3's RMSprop
}

SETTINGS = {f.name: f for f in dataclasses.fields(Config)}
SECTIONS = tuple(dict.fromkeys(f.metadata["section"] for f in SETTINGS.values()))
# Settings that define the model and its training: a run keeps them for life.
# Everything else (steps, intervals, grid options) may change on resume.
FIXED_FOR_RUN = tuple(name for name, f in SETTINGS.items() if f.metadata["fixed"])


# Presets -----------------------------------------------------------------
def presets_dir():
    """The presets' folder (a Traversable: a directory, or a place in a zip)."""
    return resources.files(PRESETS_PACKAGE)


def preset_names():
    return sorted(p.name[:-5] for p in presets_dir().iterdir() if p.name.endswith(".toml"))


def preset_values(name, _seen=()):
    """The settings of experiments/<name>.toml, its base preset's first."""
    if name in _seen:
        raise ConfigError(f"presets {' -> '.join((*_seen, name))} name each other as base")
    path = presets_dir() / f"{name}.toml"
    if not path.is_file():
        raise ConfigError(
            f"unknown data/preset {name!r}; choose one of: {', '.join(preset_names())}"
        )
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"preset file {path} is not valid TOML: {err}") from None
    values.pop("description", None)
    base = values.pop("base", None)
    return {**(preset_values(base, (*_seen, name)) if base else {}), **values}


def preset_description(name):
    """The one-line description of a preset (an existing one)."""
    return tomllib.loads((presets_dir() / f"{name}.toml").read_text()).get("description", "")


def load_preset(name, **overrides):
    """Config from experiments/<name>.toml with overrides (None = not given)."""
    values = preset_values(name)
    values["preset"] = name
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Config.from_dict(values)
