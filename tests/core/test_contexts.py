"""Which context commands use: environment overrides, the saved active one, else local."""

from __future__ import annotations

import pytest

from canfar_core import config
from canfar_core.contexts import active_context, get_context, saved_contexts
from canfar_core.errors import ConfigError, NotFound

CADC = {"backend": "canfar", "url": "https://ws-uv.canfar.net/skaha", "auth": "x509"}


def save(active: str | None = None, **contexts: dict) -> None:
    data: dict = {"contexts": contexts}
    if active:
        data["active"] = active
    config.config_file().write(data)


def test_with_nothing_configured_sessions_run_locally(canfar_home):
    context = active_context()
    assert (context.name, context.backend, context.source) == ("local", "local", "default")
    assert context.credentials() == {}


def test_the_saved_active_context_is_used(canfar_home):
    save(active="cadc", cadc=CADC)
    context = active_context()
    assert (context.name, context.backend, context.url, context.auth) == (
        "cadc",
        "canfar",
        CADC["url"],
        "x509",
    )


def test_url_and_token_form_an_ad_hoc_context_that_beats_the_saved_one(canfar_home, monkeypatch):
    save(active="cadc", cadc=CADC)
    monkeypatch.setenv("CANFAR_URL", "https://sp.example.org/skaha")
    monkeypatch.setenv("CANFAR_TOKEN", "tok-123")
    context = active_context()
    assert (context.backend, context.url, context.auth, context.source) == (
        "canfar",
        "https://sp.example.org/skaha",
        "token",
        "environment",
    )
    assert context.credentials() == {"token": "tok-123"}
    context.save_credentials({"token": "tok-123"})  # an environment secret never reaches disk
    assert not config.credentials_file().path.exists()


def test_a_url_without_a_token_is_an_error_saying_what_to_set(canfar_home, monkeypatch):
    monkeypatch.setenv("CANFAR_URL", "https://sp.example.org/skaha")
    with pytest.raises(ConfigError, match=r"CANFAR_URL is set but CANFAR_TOKEN is not"):
        active_context()


def test_backend_local_beats_everything(canfar_home, monkeypatch):
    save(active="cadc", cadc=CADC)
    monkeypatch.setenv("CANFAR_URL", "https://sp.example.org/skaha")
    monkeypatch.setenv("CANFAR_TOKEN", "tok-123")
    monkeypatch.setenv("CANFAR_CONTEXT", "cadc")
    monkeypatch.setenv("CANFAR_BACKEND", "local")
    context = active_context()
    assert (context.backend, context.source) == ("local", "environment")
    assert context.credentials() == {}


def test_a_token_alone_replaces_the_saved_token_without_writing_it(canfar_home, monkeypatch):
    save(active="cadc", cadc=CADC)
    config.credentials_file().write({"cadc": {"token": "old", "refresh": "r"}})
    monkeypatch.setenv("CANFAR_TOKEN", "new")
    assert active_context().credentials() == {"token": "new", "refresh": "r"}
    assert config.credentials_file().read() == {"cadc": {"token": "old", "refresh": "r"}}


def test_a_token_alone_with_no_remote_context_is_an_error_naming_canfar_url(
    canfar_home, monkeypatch
):
    """What CI does when its URL secret is missing: the job must not run on this machine."""
    monkeypatch.setenv("CANFAR_TOKEN", "tok")
    with pytest.raises(ConfigError, match="CANFAR_TOKEN is set but CANFAR_URL is not") as caught:
        active_context()
    assert "tok" not in str(caught.value)
    save(active="local")
    with pytest.raises(ConfigError, match="CANFAR_URL"):
        active_context()


def test_a_token_alone_is_ignored_when_the_local_backend_is_forced(canfar_home, monkeypatch):
    monkeypatch.setenv("CANFAR_TOKEN", "tok")
    monkeypatch.setenv("CANFAR_BACKEND", "local")
    assert active_context().credentials() == {}


def test_canfar_context_names_a_saved_context_over_the_active_one(canfar_home, monkeypatch):
    save(active="cadc", cadc=CADC, other={"backend": "canfar", "url": "https://other/skaha"})
    monkeypatch.setenv("CANFAR_CONTEXT", "other")
    assert active_context().url == "https://other/skaha"
    monkeypatch.setenv("CANFAR_CONTEXT", "nope")
    with pytest.raises(NotFound, match=r"no context named 'nope' \(known: local, cadc, other\)"):
        active_context()


def test_another_backend_from_the_environment_replaces_the_saved_one(canfar_home, monkeypatch):
    save(active="cadc", cadc=CADC)
    monkeypatch.setenv("CANFAR_BACKEND", "slurm")
    context = active_context()
    assert (context.name, context.backend, context.url) == ("slurm", "slurm", None)


def test_an_explicit_environ_mapping_is_used_instead_of_the_process_one(canfar_home, monkeypatch):
    monkeypatch.setenv("CANFAR_BACKEND", "local")
    context = active_context({"CANFAR_URL": "https://x/skaha", "CANFAR_TOKEN": "t"})
    assert context.url == "https://x/skaha"


def test_an_active_name_with_no_saved_context_names_the_file(canfar_home):
    save(active="gone")
    with pytest.raises(ConfigError) as caught:
        active_context()
    assert "'gone'" in str(caught.value)
    assert str(config.config_file().path) in str(caught.value)


@pytest.mark.parametrize("entry", [{"url": "https://x"}, "canfar", {"backend": 3}])
def test_a_context_without_a_backend_is_an_error_naming_it(canfar_home, entry):
    save(active="cadc", cadc=entry)
    with pytest.raises(ConfigError, match=r"context 'cadc' .* has no backend"):
        active_context()


def test_contexts_that_are_not_an_object_are_an_error(canfar_home):
    config.config_file().write({"contexts": ["cadc"]})
    with pytest.raises(ConfigError, match=r"'contexts' in .*config.json must be a JSON object"):
        saved_contexts()


def test_local_always_exists_and_round_trips_to_config(canfar_home):
    assert get_context("local").backend == "local"
    save(cadc=CADC)
    assert get_context("cadc").to_config() == CADC


def test_a_token_alone_is_not_an_error_for_a_backend_chosen_for_the_call(canfar_home, monkeypatch):
    from canfar.sessions import Session

    monkeypatch.setenv("CANFAR_TOKEN", "tok")
    assert Session(backend="local").context.backend == "local"
    assert Session(context="local").context.backend == "local"
