"""A registry keyed by names that config.py lists (config sits below core/
and cannot import it): built here, checked against that list at import."""


def named(names, **entries):
    """{name: entry} in the order of `names`; ValueError where the entries'
    names differ from config.py's list, so the two never drift apart."""
    if set(entries) != set(names):
        raise ValueError(f"registry {sorted(entries)} differs from config.py's {sorted(names)}")
    return {name: entries[name] for name in names}
