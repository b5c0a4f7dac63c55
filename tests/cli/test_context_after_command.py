"""``--context NAME`` after the command works as it does before it (as ``--debug`` does)."""

from __future__ import annotations

from tests.fakeskaha.fixtures import fake_skaha, skaha_context

__all__ = ["fake_skaha", "skaha_context"]


def test_context_after_the_command_chooses_the_context(run, skaha_context, fake_skaha):
    after = run("ps", "--context", "local")
    assert after.code == 0, after.err
    assert fake_skaha.requests == []  # the active context (the fake server) was not used
    logs = run("logs", "--context", "local", "abcdefgh")
    assert "No such option" not in logs.err
    assert logs.err.strip() == "Error: session abcdefgh not found"
    assert fake_skaha.requests == []
    status = run("auth", "status", "--context", "local")
    assert "this machine" in status.out


def test_a_context_after_the_command_wins_and_unknown_ones_are_named(run, skaha_context):
    result = run("--context", "local", "ps", "--context", "nosuch")
    assert result.code != 0
    assert "no context named 'nosuch'" in result.err
