"""Which tests each make target runs: setup.cfg leaves the slow tests out of
a bare pytest, and the Makefile's test targets select by the markers slow,
trains and jax (a jax(slow=True) test is slow on JAX: conftest.mark_slow_on).
Checked on a file of one test per kind of marking, collected in this process
with the repo's setup.cfg and the pytest arguments of the Makefile's lines."""

import re
import shlex
from pathlib import Path

import pytest

from conftest import mark_slow_on

ROOT = Path(__file__).resolve().parents[1]
KINDS = """
import pytest

def test_plain(): pass

@pytest.mark.trains
def test_trains(): pass

@pytest.mark.slow
def test_slow(): pass

@pytest.mark.jax
def test_jax(): pass

@pytest.mark.jax(slow=True)
def test_jax_slow_there(): pass

@pytest.mark.jax
@pytest.mark.slow
def test_jax_and_slow(): pass
"""
NOT_SLOW = {"test_plain", "test_trains", "test_jax", "test_jax_slow_there"}
EVERY = NOT_SLOW | {"test_slow", "test_jax_and_slow"}
# {make target: the tests each of its pytest lines selects, in order}
TARGETS = {
    "test": [("tensorflow", NOT_SLOW), ("jax", {"test_jax"})],
    "test-all": [("tensorflow", EVERY), ("jax", {"test_jax", "test_jax_slow_there",
                                                 "test_jax_and_slow"})],
    "test-fast": [("tensorflow", NOT_SLOW - {"test_trains"})],
}


def make_lines(target):
    """[(backend, pytest's arguments)] of each pytest line of a make target."""
    recipe = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)",
                       (ROOT / "Makefile").read_text(), re.M).group(1)
    return [(m.group(1), shlex.split(m.group(2)))
            for m in re.finditer(r"KERAS_BACKEND=(\w+) \S+ -m pytest (.*)", recipe)]


def selected(pytester, backend, *args):
    """Names of the tests `pytest *args` selects from KINDS on backend."""
    class Plugin:
        @pytest.hookimpl(tryfirst=True)
        def pytest_collection_modifyitems(self, items):
            mark_slow_on(backend, items)

        def pytest_collection_finish(self, session):
            self.names = {item.name for item in session.items}

    plugin = Plugin()
    pytester.inline_run("--collect-only", *args, plugins=[plugin])
    return plugin.names


@pytest.fixture
def kinds(pytester):
    pytester.makefile(".cfg", setup=(ROOT / "setup.cfg").read_text())
    pytester.makepyfile(test_kinds=KINDS)
    return pytester


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_a_bare_pytest_leaves_the_slow_tests_out(kinds, backend):
    expected = NOT_SLOW - ({"test_jax_slow_there"} if backend == "jax" else set())
    assert selected(kinds, backend) == expected


@pytest.mark.parametrize("target", TARGETS)
def test_each_make_target_selects_its_tests(kinds, target):
    lines = make_lines(target)
    assert [backend for backend, _ in lines] == [backend for backend, _ in TARGETS[target]]
    for (backend, args), (_, expected) in zip(lines, TARGETS[target]):
        assert selected(kinds, backend, *args) == expected, (target, backend, args)
