"""`pytest --cpu-durations=N`: the N tests that took the most CPU time.

pytest's --durations reports wall time, which on a shared machine moves with
everyone else's load; the CPU time of this process and of the child
processes it waited for moves much less. A test's figure includes its setup
(a shared fixture's cost lands on the first test that asks for it).
"""

import os

import pytest

_cpu = {}


def pytest_addoption(parser):
    parser.addoption("--cpu-durations", type=int, default=None, metavar="N",
                     help="show the N tests with the most CPU time (N=0 for all)")


def _cpu_seconds():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    began = _cpu_seconds()
    yield
    _cpu[item.nodeid] = _cpu_seconds() - began


def pytest_terminal_summary(terminalreporter, config):
    n = config.getoption("--cpu-durations")
    if n is None or not _cpu:
        return
    rows = sorted(_cpu.items(), key=lambda kv: -kv[1])
    terminalreporter.write_sep("=", f"CPU time per test (total {sum(_cpu.values()):.0f} s)")
    for nodeid, seconds in rows[:n or None]:
        terminalreporter.write_line(f"{seconds:8.1f}s cpu  {nodeid}")
