"""Which weights of a run a user asks for: the raw weights or an EMA."""

from ..errors import ConfigError


def parse_weights(config, weights="auto"):
    """Which weights `weights` names for a run with `config`: "raw" or an
    EMA decay (float). "auto" = the first EMA where the run keeps EMAs, else
    raw (what the grids show); "raw"; or a decay such as 0.999 or "0.9999"."""
    if weights == "auto":
        return config.ema_decays[0] if config.ema_decays else "raw"
    if weights == "raw":
        return "raw"
    try:
        return float(weights)
    except (TypeError, ValueError):
        raise ConfigError(f"weights {weights!r} are none of: auto, raw, or an EMA decay "
                          "such as 0.999") from None


def weights_label(config, weights="auto"):
    """"ema-0.999" or "raw": what `weights` picks for a run with `config`."""
    chosen = parse_weights(config, weights)
    return "raw" if chosen == "raw" else f"ema-{chosen:g}"
