"""Checks of a setting's value: each takes (name, value) and raises
ConfigError saying what to use. config.py declares every setting with one;
the checks that need config's own names (augment_list) stay there."""

from .errors import ConfigError


def positive_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def int_at_least(low, why=""):
    def check(name, value):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"{name} must be an integer >= {low}{why}, got {value!r}")
    return check


def non_negative(name, value):
    if not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{name} must be >= 0, got {value!r}")


def positive(name, value):
    if not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{name} must be > 0, got {value!r}")


def in_unit_interval(name, value):
    if not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(f"{name} must be in (0, 1), got {value!r}")


def unit_or_less(name, value):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 1:
        raise ConfigError(f"{name} must be in (0, 1], got {value!r}")


def boolean(name, value):
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")


def one_of(*choices):
    def check(name, value):
        if value not in choices:
            raise ConfigError(f"unknown {name} {value!r}; use one of: "
                              f"{', '.join(map(str, choices))}")
    check.choices = choices
    return check


def auto_or_boolean(name, value):
    if value not in (True, False, "auto") or isinstance(value, int) and not isinstance(value, bool):
        raise ConfigError(f'{name} must be true, false or "auto", got {value!r}')


def text(name, value):
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string, got {value!r}")


def ema_decay_list(name, value):
    for decay in value:
        if not isinstance(decay, (int, float)) or not 0 < decay < 1:
            raise ConfigError(f"{name} must each be in (0, 1), got {decay!r}")
    if len(set(value)) != len(value):
        raise ConfigError(f"{name} has a repeated value: {value}")


def optional(check):
    def optional_check(name, value):
        if value is not None:
            check(name, value)
    return optional_check
