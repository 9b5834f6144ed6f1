"""What ogan_tf says (messages.py, cli/__init__.py): messages through the
ogan_tf logger, one progress display (a live line on a terminal, plain
lines in a file), -q/-v, --version and the exit statuses."""

import io
import logging
import re

import pytest

from ogan_tf import __version__, cli, messages

from conftest import TINY

ESCAPES = re.compile("[\x1b\r\b]")


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def console():
    """install(out, err, verbosity) -> the CLI's handler on those streams;
    the logger is left as it was."""
    logger = messages.logger
    saved = (list(logger.handlers), logger.level, logger.propagate)

    def install(out, err, verbosity=0):
        return messages.install_console(verbosity, out, err)

    yield install
    logger.handlers[:], logger.level, logger.propagate = saved


def test_say_sends_lines_to_the_ogan_tf_logger_at_their_level(caplog):
    caplog.set_level(logging.DEBUG, logger="ogan_tf")
    messages.say("\ntraining 'x'")
    messages.say("warning: the grids are skipped")
    messages.say("data: warning: a.png is small")
    messages.detail("metrics: loss 1")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "training 'x'"), ("WARNING", "the grids are skipped"),
        ("WARNING", "data: a.png is small"), ("DEBUG", "metrics: loss 1")]
    assert all(r.name == "ogan_tf" for r in caplog.records)


def test_a_file_gets_plain_lines_and_warnings_go_to_stderr(console, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "")
    out, err = io.StringIO(), io.StringIO()
    console(out, err)
    messages.say("training 'x'")
    for step in range(1, 5):  # between intervals: nothing in a file
        messages.progress(f"step {step}/4", interval_end=step in (2, 4))
    messages.say("warning: the disk is nearly full")
    messages.end_progress()
    assert out.getvalue() == "training 'x'\nstep 2/4\nstep 4/4\n"
    assert err.getvalue() == "warning: the disk is nearly full\n"


def test_a_terminal_gets_one_live_line_that_other_messages_do_not_break(console):
    out = Terminal()
    handler = console(out, io.StringIO())
    assert handler.live
    messages.progress("step 1/9", interval_end=False)
    messages.progress("step 2/9", interval_end=False)
    messages.say("data: 1 image skipped")  # clears the line, writes, redraws it
    messages.progress("step 9/9", interval_end=True)
    messages.end_progress()
    screen = []  # what the terminal shows: \r returns to the line's start
    for line in out.getvalue().split("\n"):
        screen.append(line.split("\r")[-1].rstrip())
    assert screen == ["data: 1 image skipped", "step 9/9", ""]
    assert "\x1b" not in out.getvalue()


def test_quiet_keeps_warnings_and_verbose_adds_detail(console):
    out, err = Terminal(), io.StringIO()
    console(out, err, verbosity=-1)
    messages.say("training 'x'")
    messages.progress("step 1/9", interval_end=True)
    messages.say("warning: a slow setting")
    assert out.getvalue() == "" and err.getvalue() == "warning: a slow setting\n"
    out = io.StringIO()
    console(out, io.StringIO(), verbosity=1)
    messages.detail("metrics: loss 1")
    assert out.getvalue() == "metrics: loss 1\n"


def test_warnings_are_coloured_on_a_terminal_unless_no_color(console, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    err = Terminal()
    console(io.StringIO(), err)
    messages.say("warning: x")
    assert err.getvalue() == "\x1b[33mwarning:\x1b[0m x\n"
    monkeypatch.setenv("NO_COLOR", "1")
    err.truncate(0), err.seek(0)
    messages.say("warning: x")
    assert err.getvalue() == "warning: x\n"


def test_version_usage_errors_and_runtime_errors(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"ogan-tf {__version__}\n"
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", "--no-such-flag"])
    assert exit_.value.code == 2  # a usage error
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err
    assert cli.main(["samples", "--run", "ghost", "--runs-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith("ogan-tf: error: no run 'ghost'")


@pytest.mark.trains
def test_a_training_log_in_a_file_has_one_counter_and_no_escapes(dirs, capsys, console):
    """200 steps, intervals of 100: two progress lines, the last at 200/200,
    no Keras bar, no escape or redraw; --quiet leaves nothing on stdout."""
    flags = ["train", *TINY, "--steps", "200", "--log-every", "100", "--sample-every", "200",
             "--checkpoint-every", "200", "--export-at-end", "none", "--run", "t", *dirs[2]]
    assert cli.main(flags) == 0
    log = capsys.readouterr().out
    assert not ESCAPES.search(log), repr(log[-500:])
    counts = re.findall(r"^step ([\d,]+)/200 ", log, re.M)
    assert counts == ["100", "200"], log
    assert "/100 [" not in log  # Keras' own bar
    assert cli.main(["samples", "--quiet", "--run", "t", *dirs[2]]) == 0
    assert capsys.readouterr().out == ""
