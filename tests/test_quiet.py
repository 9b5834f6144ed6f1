"""A quiet start (cli/quiet.py): TensorFlow's start-up notices are filtered by
TF_CPP_MIN_LOG_LEVEL, everything else on stderr comes through."""

import sys
import textwrap

from ogan_tf.cli import quiet

# What `import tensorflow` 2.21 writes on a CPU machine before its logging
# reads TF_CPP_MIN_LOG_LEVEL, after a line of another library, with a
# warning and an error.
START = (
    "a line of another library\n"
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796076038.957322   10172 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.\n"
    "I0000 00:00:1796076039.201519   10172 cpu_feature_guard.cc:227] This TensorFlow binary "
    "is optimized to use available CPU instructions in performance-critical operations.\n"
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags.\n"
    "W0000 00:00:1796076040.000001   10172 some.cc:1] a warning\n"
    "E0000 00:00:1796076040.000002   10172 some.cc:2] an error\n"
)


def lines(text):
    return [line.split("] ")[-1] for line in text.splitlines()]


def test_log_lines_below_the_level_go_with_their_continuation_lines():
    assert quiet.kept_lines(START, 0) == START
    assert lines(quiet.kept_lines(START, 1)) == ["a line of another library", "a warning",
                                                 "an error"]
    assert lines(quiet.kept_lines(START, 2)) == ["a line of another library", "an error"]
    assert lines(quiet.kept_lines(START, 3)) == ["a line of another library"]


def test_the_first_import_is_filtered_and_later_ones_are_not(tmp_path, monkeypatch, capfd):
    # A module that writes to file descriptor 2 as TensorFlow's C++ code does.
    name = "noisy_start_module"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(f"""
        import os
        os.write(2, {START.encode()!r})
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    before = list(sys.meta_path)
    environ = {}
    quiet.quiet_tensorflow_start(environ, module=name)
    assert environ == {"TF_CPP_MIN_LOG_LEVEL": "3"}  # unset: set, as the CLI always did
    __import__(name)
    assert sys.meta_path == before  # the finder stepped aside
    assert capfd.readouterr().err == "a line of another library\n"

    # A level the user set is kept and used; 0 shows everything, filters nothing.
    del sys.modules[name]
    environ = {"TF_CPP_MIN_LOG_LEVEL": "0"}
    quiet.quiet_tensorflow_start(environ, module=name)
    assert environ == {"TF_CPP_MIN_LOG_LEVEL": "0"} and sys.meta_path == before
    __import__(name)
    assert capfd.readouterr().err == START
    # Already imported: nothing to filter, no finder left behind.
    quiet.quiet_tensorflow_start({}, module=name)
    assert sys.meta_path == before


def test_an_import_that_fails_still_writes_what_it_wrote(tmp_path, monkeypatch, capfd):
    name = "failing_start_module"
    (tmp_path / f"{name}.py").write_text(
        "import os\nos.write(2, b'E0000 00:00:1.0 1 x.cc:1] cannot load\\nthe reason\\n')\n"
        "raise ImportError('no such library')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    quiet.quiet_tensorflow_start({"TF_CPP_MIN_LOG_LEVEL": "2"}, module=name)
    try:
        __import__(name)
    except ImportError as err:
        assert "no such library" in str(err)
    else:
        raise AssertionError("the import should fail")
    finally:
        sys.modules.pop(name, None)
    assert capfd.readouterr().err == "E0000 00:00:1.0 1 x.cc:1] cannot load\nthe reason\n"
