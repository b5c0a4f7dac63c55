"""The ``canfar_plugin`` fixture registers a plugin for one test only, even a failing one."""

from __future__ import annotations

import pytest

from canfar.helpers import distributed
from canfar_core.manager import get_manager

pytest_plugins = ["pytester"]

INNER = """
import pytest

from canfar.helpers import distributed
from canfar_core import hookimpl
from canfar_core.manager import get_manager


class Probe:
    @hookimpl
    def canfar_register_strategies(self, register):
        register("probe-first", lambda items, replica, count: iter(list(items)[:1]))


def test_registered_for_this_test(canfar_plugin):
    assert canfar_plugin(Probe(), name="probe") == "probe"
    assert get_manager().pm.has_plugin("probe")
    assert list(distributed.split([1, 2, 3], "probe-first", 1, 1)) == [1]


def test_gone_in_the_next_test():
    assert not get_manager().pm.has_plugin("probe")
    assert "probe-first" not in distributed.strategies()


def test_a_failing_test(canfar_plugin):
    canfar_plugin(Probe(), name="probe")
    pytest.fail("fails on purpose")


def test_gone_after_a_failing_test():
    assert not get_manager().pm.has_plugin("probe")
"""


def test_canfar_plugin_unregisters_when_the_test_ends(pytester: pytest.Pytester) -> None:
    manager = get_manager()  # the process-wide manager, shared with the inner run
    pytester.makepyfile(test_probe=INNER)
    result = pytester.runpytest_inprocess("-q")
    result.assert_outcomes(passed=3, failed=1)
    assert "fails on purpose" in result.stdout.str()
    assert not manager.pm.has_plugin("probe")
    assert "probe-first" not in distributed.strategies()
