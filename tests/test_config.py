"""Settings defined once: checks, fixed-for-run, CLI flags; presets; --data."""

import argparse
import os

import pytest

from ogan_tf import cli, config
from ogan_tf.config import (
    FIXED_FOR_RUN,
    SETTINGS,
    Config,
    load_preset,
    preset_names,
    preset_values,
)
from ogan_tf.data.choice import DataChoice, resolve_data
from ogan_tf.errors import ConfigError


def test_every_setting_has_help_a_check_and_a_working_default():
    Config()  # the defaults pass their own checks
    for name, field in SETTINGS.items():
        assert len(field.metadata["help"]) > 10, name
        assert callable(field.metadata["check"]), name
    assert "z_dim" in FIXED_FOR_RUN and "rmsprop_rho" in FIXED_FOR_RUN
    assert "learning_rate" not in FIXED_FOR_RUN  # lowered on resume after a divergence
    assert "steps" not in FIXED_FOR_RUN and "fused_step" not in FIXED_FOR_RUN


def test_settings_are_grouped_in_sections_and_the_help_lists_them_so():
    assert config.SECTIONS[:2] == ("data", "networks")
    assert [n for n, f in SETTINGS.items() if f.metadata["section"] == "speed"] == \
        ["precision", "fused_step", "jit_compile"]
    assert all(f.metadata["section"] in config.SECTIONS for f in SETTINGS.values())
    text = cli.parser()._subparsers._group_actions[0].choices["train"].format_help()
    order = [text.index(f"settings, {title}:") for title in config.SECTIONS]  # all there
    assert order == sorted(order)
    options = text[text.index("options:"):]
    assert options.index("settings, evaluation and monitoring:") < options.index("--eval-every ") \
        < options.index("settings, scaling out:") < options.index("--strategy ")


@pytest.mark.parametrize("change, fragment", [
    ({"steps": 0}, "steps must be a positive integer"),
    ({"batch_size": 1}, "batch_size must be an integer >= 2 (BatchNorm needs a batch)"),
    ({"learning_rate": 0.0}, "learning_rate must be > 0"),
    ({"rmsprop_rho": 1.5}, "rmsprop_rho must be in (0, 1)"),
    ({"ema_decays": (0.9, 0.9)}, "repeated value"),
    ({"ema_decays": (1.5,)}, "must each be in (0, 1)"),
    ({"precision": "float8"}, "unknown precision 'float8'; use one of: float32"),
    ({"jit_compile": "maybe"}, 'jit_compile must be true, false or "auto"'),
    ({"fused_step": "yes"}, 'fused_step must be true, false or "auto"'),
    ({"resolution": 48}, "resolution 48 is not a power of two"),
    ({"z_dim": 2}, "z_dim 2 is below 3"),
    ({"channels": 12, "resolution": 64}, "channels 12 must be a multiple of 8"),
])
def test_each_check_names_the_setting_and_what_to_use(change, fragment):
    with pytest.raises(ConfigError) as err:
        Config(**change)
    assert fragment in str(err.value)


def test_every_flagged_setting_is_a_train_flag_with_its_help():
    train = cli.parser()._subparsers._group_actions[0].choices["train"]
    flags = {a.dest: a for a in train._actions}
    for name, field in SETTINGS.items():
        if field.metadata["flag"]:
            assert flags[name].help == field.metadata["help"], name
        elif name != "preset":  # --preset is train's own (with --data), not an override
            assert name not in flags, name


def parse_train(*argv):
    return cli.parser().parse_args(["train", *argv])


def test_flags_parse_to_setting_values():
    args = parse_train("--ema-decays", "0.999,0.9999", "--fused-step", "--no-jpeg-draft",
                       "--jit-compile", "off", "--learning-rate", "2e-4", "--channels", "64")
    assert args.ema_decays == (0.999, 0.9999) and args.fused_step is True
    assert args.jpeg_draft is False and args.jit_compile is False
    assert args.learning_rate == 2e-4 and args.channels == 64
    assert parse_train("--tensorboard", "on").tensorboard is True
    assert parse_train("--ema-decays", "none").ema_decays == ()
    assert parse_train().steps is None  # not given: the preset's


@pytest.mark.parametrize("argv, fragment", [
    (["--ema-decays", "abc"], "use comma-separated decays such as 0.999,0.9999"),
    (["--fused-step", "maybe"], "use on or off, not 'maybe'"),
    (["--no-fused-step", "on"], "--no-fused-step takes no value"),
    (["--precision", "float8"], "invalid choice: 'float8'"),
])
def test_bad_flags_say_what_to_use(argv, fragment, capsys):
    with pytest.raises(SystemExit):
        parse_train(*argv)
    err = capsys.readouterr().err
    assert fragment in err and "<lambda>" not in err


def test_presets_inherit_from_a_base(tmp_path, monkeypatch):
    assert preset_values("claims_mse")["channels"] == preset_values("shapes")["channels"]
    assert preset_values("claims_mse")["encoder_term"] == "mse"
    assert preset_values("lsun_bedroom_256")["crop_max"] == 256  # through two bases
    for name in preset_names():  # every preset builds a valid Config
        assert load_preset(name).preset == name
    (tmp_path / "a.toml").write_text('base = "b"\nz_dim = 8\n')
    (tmp_path / "b.toml").write_text('base = "a"\n')
    monkeypatch.setattr(config, "presets_dir", lambda: tmp_path)
    with pytest.raises(ConfigError, match="a -> b -> a name each other as base"):
        preset_values("a")


def test_resolve_data_is_a_preset_a_path_or_the_runs_own(tmp_path):
    assert resolve_data() == DataChoice(None, {}, "shapes")
    assert resolve_data("lsun_church") == DataChoice("lsun_church", {}, "lsun_church")
    assert resolve_data(None, run="x").run_name == "x"
    folder = tmp_path / "my pics"
    choice = resolve_data(str(folder) + "/")
    assert (choice.preset, choice.run_name) == ("folder", "my_pics")
    assert choice.overrides == {"data_path": os.path.abspath(folder)}
    # a generated set's preset on a folder reads the folder
    choice = resolve_data(str(folder), preset="shapes", run="r")
    assert choice.preset == "shapes" and choice.overrides["dataset"] == "auto"
    assert load_preset(choice.preset, **choice.overrides).on_disk
    with pytest.raises(ConfigError, match="--preset shapes goes with a data path"):
        resolve_data("lsun_church", preset="shapes")


def test_on_off_action_rejects_values_for_no_flags():
    parser = argparse.ArgumentParser()
    parser.add_argument("--x", action=cli.train.OnOffAction)
    assert parser.parse_args(["--x", "off"]).x is False
    assert parser.parse_args(["--no-x"]).x is False
    assert parser.parse_args([]).x is None
