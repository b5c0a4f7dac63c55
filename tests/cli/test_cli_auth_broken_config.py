"""A broken context entry in the config never keeps anyone from switching away from it or
removing it: ``canfar auth switch`` and ``canfar auth logout --all``."""

from __future__ import annotations

import pytest

from canfar_core import config

GOOD = {"backend": "canfar", "url": "https://good.example.org/skaha", "auth": "token"}


@pytest.fixture
def broken_config(canfar_home) -> None:
    """Two broken entries (no backend; not even an object), one good one; a broken one active."""
    config.config_file().write(
        {
            "active": "nobackend",
            "contexts": {
                "nobackend": {"url": "https://x.example.org/skaha"},
                "junk": "oops",
                "good": GOOD,
            },
        }
    )
    config.credentials_file().write(
        {name: {"token": f"secret-{name}"} for name in ("nobackend", "junk", "good")}
    )


def test_switch_away_from_a_broken_active_context(broken_config, run):
    result = run("auth", "switch", "good")
    assert result.code == 0, result.err
    assert config.config_file().read()["active"] == "good"
    assert "Active context: good (https://good.example.org/skaha)." in result.err
    warnings = [line for line in result.err.splitlines() if line.startswith("Warning:")]
    # one line per broken entry, each naming it and how to remove it
    assert sorted(line.split("'")[1] for line in warnings) == ["junk", "nobackend"]
    assert all("canfar auth logout" in line for line in warnings)


def test_switch_to_this_machine_despite_broken_entries(broken_config, run):
    result = run("auth", "switch", "local")
    assert result.code == 0, result.err
    assert config.config_file().read()["active"] == "local"


def test_switch_to_a_broken_context_is_refused_and_changes_nothing(broken_config, run):
    result = run("auth", "switch", "nobackend")
    assert result.code == 1
    assert result.err.startswith("Error: context 'nobackend'")
    assert "canfar auth logout nobackend" in result.err
    assert len(result.err.splitlines()) == 1


def test_switch_to_an_unknown_name_lists_every_saved_name(broken_config, run):
    result = run("auth", "switch", "nowhere")
    assert result.code == 1
    assert result.err.startswith("Error: no context named 'nowhere' (known: local, ")
    for name in ("nobackend", "junk", "good"):
        assert name in result.err


def test_logout_all_removes_broken_entries_and_their_credentials(broken_config, run):
    result = run("auth", "logout", "--all")
    assert result.code == 0, result.err
    data = config.config_file().read()
    assert data.get("contexts") == {}
    assert data["active"] == "local"  # the fallback is remembered
    assert config.credentials_file().read() == {}
    for name in ("nobackend", "junk", "good"):
        assert f"Logged out of {name} " in result.err
    assert "secret-" not in result.err + result.out
    assert run("ps", "-q").code == 0  # sessions run on this machine again


def test_logout_of_one_broken_entry_keeps_the_others(broken_config, run):
    result = run("auth", "logout", "junk")
    assert result.code == 0, result.err
    assert set(config.config_file().read()["contexts"]) == {"nobackend", "good"}
    assert set(config.credentials_file().read()) == {"nobackend", "good"}
