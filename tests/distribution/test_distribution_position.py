"""Where the replica position comes from, and the errors a user sees when it is wrong."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from canfar.helpers import distributed
from canfar_core import hookimpl
from canfar_core.errors import PluginError
from canfar_plugins._support import shares

FILES = [f"img-{i}.fits" for i in range(10)]


def test_without_any_position_the_process_is_replica_1_of_1():
    assert distributed.position() == (1, 1)
    assert list(distributed.chunk(FILES)) == FILES
    assert list(distributed.stripe(FILES)) == FILES


def test_the_canfar_variables_are_1_based(monkeypatch):
    monkeypatch.setenv("REPLICA_ID", "2")
    monkeypatch.setenv("REPLICA_COUNT", "3")
    assert distributed.position() == (2, 3)
    assert list(distributed.chunk(FILES)) == FILES[4:7]
    assert list(distributed.stripe(FILES)) == FILES[1::3]


def test_arguments_win_over_the_environment_one_by_one(monkeypatch):
    monkeypatch.setenv("REPLICA_ID", "2")
    monkeypatch.setenv("REPLICA_COUNT", "3")
    assert distributed.position(replica=1) == (1, 3)
    assert distributed.position(count=5) == (2, 5)
    assert list(distributed.chunk(FILES, replica=5, count=5)) == FILES[8:]


def test_numbers_given_as_text_are_accepted_as_arguments():
    assert distributed.position(replica="2", count=" 3") == (2, 3)


def test_blank_variables_count_as_unset(monkeypatch):
    monkeypatch.setenv("REPLICA_ID", "  ")
    monkeypatch.setenv("REPLICA_COUNT", "")
    assert distributed.position() == (1, 1)


def test_variables_may_carry_blanks_around_the_number(monkeypatch):
    monkeypatch.setenv("REPLICA_ID", " 4\n")
    monkeypatch.setenv("REPLICA_COUNT", "4 ")
    assert distributed.position() == (4, 4)


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"REPLICA_ID": "abc", "REPLICA_COUNT": "4"}, {}, "REPLICA_ID='abc' is not a whole number"),
        ({"REPLICA_ID": "1", "REPLICA_COUNT": "four"}, {}, "REPLICA_COUNT='four' is not a whole"),
        ({"REPLICA_ID": "1.0", "REPLICA_COUNT": "4"}, {}, "REPLICA_ID='1.0' is not a whole"),
        ({"REPLICA_ID": "0", "REPLICA_COUNT": "4"}, {}, "REPLICA_ID=0 is not a valid replica"),
        (
            {"REPLICA_ID": "5", "REPLICA_COUNT": "4"},
            {},
            "REPLICA_ID=5 is out of range: with REPLICA_COUNT=4, replicas are numbered 1 to 4",
        ),
        (
            {"REPLICA_ID": "1", "REPLICA_COUNT": "0"},
            {},
            "REPLICA_COUNT=0 is not a valid replica count: it must be 1 or more",
        ),
        ({}, {"replica": 0, "count": 3}, "replica=0 is not a valid replica number"),
        ({}, {"replica": -2, "count": 3}, "replica=-2 is not a valid replica number"),
        ({}, {"replica": 4, "count": 3}, "replica=4 is out of range: with count=3"),
        ({}, {"replica": 1, "count": 0}, "count=0 is not a valid replica count"),
        ({}, {"replica": 1, "count": -1}, "count=-1 is not a valid replica count"),
        ({}, {"replica": "two", "count": 3}, "replica='two' is not a whole number"),
        ({}, {"replica": 1.5, "count": 3}, "replica=1.5 is not a whole number"),
        ({}, {"replica": True, "count": 3}, "replica=True is not a whole number"),
        ({"REPLICA_ID": "3"}, {}, "REPLICA_ID=3 is set but the replica count is unknown"),
        ({"REPLICA_COUNT": "3"}, {}, "REPLICA_COUNT=3 is set but this replica's number is unknown"),
        ({}, {"count": 3}, "count=3 is set but this replica's number is unknown"),
        ({"REPLICA_COUNT": "4"}, {"replica": 7}, "replica=7 is out of range: with REPLICA_COUNT=4"),
    ],
)
@pytest.mark.parametrize("function", ["chunk", "stripe", "split", "position"])
def test_bad_values_name_the_variable_and_the_value(monkeypatch, env, args, message, function):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        getattr(distributed, function)(FILES, **args) if function != "position" else (
            distributed.position(**args)
        )


@pytest.mark.parametrize("function", ["chunk", "stripe", "split"])
def test_errors_come_at_the_call_not_at_the_first_next(monkeypatch, function):
    monkeypatch.setenv("REPLICA_ID", "abc")
    consumed = []

    def files():
        consumed.append(True)
        yield "a.fits"

    with pytest.raises(ValueError, match="REPLICA_ID='abc'"):
        getattr(distributed, function)(files())
    assert consumed == []


def test_the_built_in_strategies_check_a_position_given_to_them_directly():
    for name in ("chunk", "stripe"):
        with pytest.raises(ValueError, match="replica=3 is out of range"):
            getattr(shares, name)(FILES, 3, 2)


def test_a_count_of_1_needs_no_replica_number(monkeypatch):
    monkeypatch.setenv("REPLICA_COUNT", "1")
    assert distributed.position() == (1, 1)


def test_chunk_of_a_generator_reads_nothing_until_iterated():
    consumed = []

    def files():
        for name in FILES:
            consumed.append(name)
            yield name

    share = distributed.chunk(files(), replica=2, count=2)
    assert consumed == []
    assert list(share) == FILES[5:]
    assert consumed == FILES


def test_stripe_of_a_generator_reads_only_as_far_as_asked():
    consumed = []

    def files():
        for name in FILES:
            consumed.append(name)
            yield name

    share = distributed.stripe(files(), replica=2, count=3)
    assert next(share) == FILES[1]
    assert consumed == FILES[:2]


def test_sequences_are_read_by_index_and_only_for_the_share():
    class Catalogue:
        """A lazy list whose items are costly to make, as a user might write one."""

        def __init__(self, size):
            self.size = size
            self.made = []

        def __len__(self):
            return self.size

        def __getitem__(self, index):
            if not 0 <= index < self.size:
                raise IndexError(index)
            self.made.append(index)
            return f"row-{index}"

    from collections.abc import Sequence

    Sequence.register(Catalogue)
    catalogue = Catalogue(1_000_000_000)
    assert list(distributed.chunk(catalogue, replica=3, count=1_000_000)) == [
        f"row-{i}" for i in range(2000, 3000)
    ]
    assert catalogue.made == list(range(2000, 3000))
    catalogue.made.clear()
    assert next(distributed.stripe(catalogue, replica=7, count=10)) == "row-6"
    assert catalogue.made == [6]


def test_items_that_are_not_iterable_are_a_type_error_at_the_call():
    with pytest.raises(TypeError):
        distributed.chunk(42, replica=1, count=2)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        distributed.stripe(None, replica=1, count=2)  # type: ignore[arg-type]


# -- the hook, asked only when no replica is known ---------------------------------------


class FixedEngine:
    def __init__(self, answer):
        self.answer = answer
        self.asked = 0

    @hookimpl
    def canfar_replica_position(self, environ):
        self.asked += 1
        return self.answer


def test_the_hook_gives_the_position_when_nothing_else_does(canfar_plugin):
    engine = FixedEngine((3, 4))
    canfar_plugin(engine)
    assert distributed.position() == (3, 4)
    assert list(distributed.chunk(FILES)) == FILES[6:8]
    assert engine.asked == 2


def test_the_hook_is_not_asked_when_replica_id_is_set(canfar_plugin, monkeypatch):
    engine = FixedEngine((3, 4))
    canfar_plugin(engine)
    monkeypatch.setenv("REPLICA_ID", "1")
    monkeypatch.setenv("REPLICA_COUNT", "2")
    assert distributed.position() == (1, 2)
    assert distributed.position(replica=2, count=2) == (2, 2)
    assert engine.asked == 0


def test_a_count_from_replica_count_or_the_caller_wins_over_the_hooks(canfar_plugin, monkeypatch):
    canfar_plugin(FixedEngine((2, 9)))
    assert distributed.position(count=3) == (2, 3)
    monkeypatch.setenv("REPLICA_COUNT", "5")
    assert distributed.position() == (2, 5)


def test_a_hook_that_gives_no_count_needs_replica_count(canfar_plugin, monkeypatch):
    canfar_plugin(FixedEngine((1, None)))
    with pytest.raises(ValueError, match="the replica count is unknown: set REPLICA_COUNT"):
        distributed.chunk(FILES)
    monkeypatch.setenv("REPLICA_COUNT", "2")
    assert list(distributed.chunk(FILES)) == FILES[:5]


def test_a_hook_position_out_of_range_is_a_value_error(canfar_plugin):
    canfar_plugin(FixedEngine((5, 4)))
    with pytest.raises(
        ValueError, match=r"replica 5 \(from the canfar_replica_position hook\) is out"
    ):
        distributed.stripe(FILES)


def test_a_hook_that_returns_nonsense_is_reported_as_the_plugins_fault(canfar_plugin):
    canfar_plugin(FixedEngine("three"))
    with pytest.raises(PluginError, match="canfar_replica_position returned 'three'"):
        distributed.chunk(FILES)


# -- what importing and calling costs -----------------------------------------------------

PROBE = """
import sys
import canfar.helpers.distributed as d
print(sorted(m for m in sys.modules if m.split('.')[0] in
      ('pluggy', 'click', 'requests', 'tabulate', 'typing', 'canfar_plugins')
      or m in ('canfar_core.manager', 'canfar_core.sessions', 'canfar.sessions')))
{call}
print(sorted(m for m in sys.modules if m in ('pluggy', 'canfar_core.manager')))
"""


def _probe(call: str, env: dict[str, str]) -> list[str]:
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith(("REPLICA_", "SLURM_"))}
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(call=call)],
        capture_output=True,
        text=True,
        check=True,
        env={**clean, **env},
    ).stdout
    return out.splitlines()


def test_importing_distributed_loads_no_heavy_module():
    after_import, _ = _probe("", {})
    assert after_import == "[]"


def test_chunk_and_stripe_with_replica_id_set_never_load_the_plugin_manager():
    call = "list(d.chunk(range(10))); list(d.stripe(iter(range(10)))); d.position()"
    _, after_calls = _probe(call, {"REPLICA_ID": "2", "REPLICA_COUNT": "3"})
    assert after_calls == "[]"


def test_the_plugin_manager_is_loaded_when_the_hook_must_be_asked():
    _, after_calls = _probe("list(d.chunk(range(10)))", {})
    assert after_calls == "['canfar_core.manager', 'pluggy']"


def test_fast_path_and_registry_hold_the_same_strategy_functions():
    from canfar_core.manager import get_manager

    registry = get_manager().registry("strategies")
    assert registry.get("chunk") is shares.chunk
    assert registry.get("stripe") is shares.stripe
    assert distributed.strategies()[:2] == ["chunk", "stripe"]


def test_an_unknown_strategy_is_a_value_error_listing_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown strategy 'zigzag' \(known: .*chunk.*stripe"):
        distributed.split(FILES, "zigzag", 1, 2)


@pytest.mark.parametrize("function", ["chunk", "stripe"])
@pytest.mark.parametrize("kind", [set, frozenset])
def test_a_set_is_refused_because_each_replica_would_see_another_order(function, kind):
    with pytest.raises(ValueError, match=f"cannot share a {kind.__name__} among replicas"):
        getattr(distributed, function)(kind(FILES), replica=1, count=2)
    # A dict keeps insertion order, the same in every process: it is shared like a list.
    assert list(getattr(distributed, function)(dict.fromkeys(FILES), 1, 1)) == FILES
