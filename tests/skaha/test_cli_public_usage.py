"""The public client's documented command-line usage, against the fake service: each usage runs
here unchanged, with the exit code, the output's shape and what reached the server checked."""

from __future__ import annotations

import io
import json

import pytest
import yaml

from canfar_core import config
from tests.clirun import TerminalInput
from tests.fakeskaha import FakeSkaha


@pytest.fixture
def fake(skaha_context, fake_skaha: FakeSkaha) -> FakeSkaha:
    return fake_skaha


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Standard input behaves as a terminal (the answers still come from ``stdin=``)."""
    monkeypatch.setattr(io, "StringIO", TerminalInput)


def error_object(err: str) -> dict:
    """The one machine-readable error on stderr."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    record = json.loads(lines[0])
    assert {"code", "message", "hint"} <= set(record)
    return record


# -- create -------------------------------------------------------------------------------------


def test_create_with_cpu_memory_gpu_sends_cores_ram_gpus(run, fake):
    result = run(
        "create", "notebook", "skaha/astroml:latest", "--cpu", "4", "--memory", "16", "--gpu", "1"
    )
    assert result.code == 0, result.err
    (post,) = fake.requests_to("POST", r"/v1/session$")
    assert (post.param("cores"), post.param("ram"), post.param("gpus")) == ("4", "16", "1")
    assert post.param("type") == "notebook"


@pytest.mark.parametrize(
    "extra",
    [
        ("--cpu", "300"),
        ("--cpu", "0"),
        ("--memory", "600"),
        ("--gpu", "29"),
        ("--replicas", "257"),
        ("--replicas", "0"),
    ],
)
def test_create_values_outside_the_public_ranges_exit_2_and_send_nothing(run, fake, extra):
    result = run("create", "headless", "skaha/astroml", *extra, "--", "true")
    assert result.code == 2, result.err
    assert extra[1] in result.err
    assert result.out == ""
    assert fake.requests_to("POST") == []


def test_create_dry_run_prints_each_request_and_sends_none(run, fake):
    result = run(
        "create", "--dry-run", "-r", "2", "-n", "fit", "headless", "skaha/astroml",
        "--cpu", "2", "--", "python", "fit.py", "--all",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert fake.requests_to("POST") == []
    requests = json.loads(result.out)
    assert [r["method"] for r in requests] == ["POST", "POST"]
    assert requests[0]["url"] == f"{fake.url}/v1/session"
    form = dict((k, v) for k, v in requests[1]["form"] if k != "env")
    assert form == {
        "name": "fit-2",
        "image": "images.canfar.net/skaha/astroml:latest",
        "type": "headless",
        "cores": "2",
        "cmd": "python",
        "args": "fit.py --all",
    }
    assert ["env", "REPLICA_ID=2"] in requests[1]["form"]
    assert "nothing was sent" in result.err


def test_create_dry_run_then_create_sends_exactly_what_was_shown(run, fake):
    argv = ("create", "headless", "skaha/astroml", "-n", "same", "--", "echo", "hi")
    shown = json.loads(run(*argv[:2], "--dry-run", *argv[2:]).out)
    assert run(*argv).code == 0
    (post,) = fake.requests_to("POST", r"/v1/session$")
    assert [[k, v] for k, v in post.params] == shown[0]["form"]


def test_create_output_json_is_the_list_of_ids(run, fake):
    result = run("create", "headless", "skaha/astroml", "-r", "3", "-o", "json", "--", "true")
    assert result.code == 0, result.err
    ids = json.loads(result.out)
    assert isinstance(ids, list)
    assert len(ids) == 3
    assert {s.id for s in fake.live_sessions()} == set(ids)


def test_create_output_yaml_is_the_list_of_ids(run, fake):
    result = run("create", "headless", "skaha/astroml", "--output", "yaml", "--", "true")
    assert result.code == 0, result.err
    ids = yaml.safe_load(result.out)
    assert ids == [s.id for s in fake.live_sessions()]


def test_create_o_after_the_delimiter_belongs_to_the_command(run, fake):
    result = run("create", "headless", "skaha/astroml", "--", "worker", "-o", "yaml")
    assert result.code == 0, result.err
    (post,) = fake.requests_to("POST", r"/v1/session$")
    assert post.param("args") == "-o yaml"
    assert not result.out.startswith("[")


def test_create_failure_in_machine_mode_is_one_error_object_and_no_stdout(run, fake):
    fake.inject("POST", r"/v1/session$", status=500, times=None)
    result = run("create", "headless", "skaha/astroml", "-o", "json", "--", "true")
    assert result.code == 1
    assert result.out == ""
    record = error_object(result.err)
    assert record["code"] == "server.error"
    assert "500" in record["message"]


# -- ps ---------------------------------------------------------------------------------------


def test_ps_output_json_is_a_list_of_session_records(run, fake):
    sid = fake.add_session(name="nb", type="notebook", status="Running")
    result = run("ps", "-o", "json")
    assert result.code == 0, result.err
    (record,) = json.loads(result.out)
    assert record["id"] == sid
    assert record["type"] == "notebook"
    assert record["status"] == "Running"
    assert "connectURL" in record
    assert "startTime" in record


def test_ps_output_yaml_holds_the_same_records(run, fake):
    fake.add_session(name="nb", type="notebook", status="Running")
    as_json = json.loads(run("ps", "-o", "json").out)
    assert yaml.safe_load(run("ps", "-o", "yaml").out) == as_json


def test_ps_json_flag_is_the_same_document_as_output_json(run, fake):
    fake.add_session(name="nb", type="notebook", status="Running")
    assert json.loads(run("ps", "--json").out) == json.loads(run("ps", "-o", "json").out)


def test_json_flag_and_output_json_print_the_same_bytes_for_non_ascii_names(run, fake):
    sid = fake.add_session(name="café-1", type="notebook", status="Running")
    flag = run("ps", "--json").out
    assert flag == run("ps", "-o", "json").out
    assert "café-1" in flag, "non-ASCII text is written as UTF-8, not escaped"
    info = run("info", sid, "--json").out  # a command with --json only: the same encoder
    assert "café-1" in info
    assert "\\u00e9" not in info


def test_ps_all_kind_filter_is_sent_to_the_server(run, fake):
    fake.add_session(name="a", type="headless", status="Completed")
    fake.add_session(name="b", type="notebook", status="Running")
    result = run("ps", "--all", "--kind", "headless", "-q")
    assert result.code == 0, result.err
    assert len(result.out.split()) == 1
    (listing,) = fake.requests_to("GET", r"/v1/session$")
    assert listing.param("type") == "headless"


def test_ps_quiet_and_output_together_are_refused(run, fake):
    result = run("ps", "-q", "-o", "json")
    assert result.code == 2
    assert result.out == ""
    assert error_object(result.err)["code"] == "command.validation_failed"


def test_ps_bad_output_format_is_a_usage_error(run, fake):
    result = run("ps", "-o", "xml")
    assert result.code == 2
    assert "xml" in result.err


def test_missing_login_in_machine_mode_is_authentication_required(run, fake_skaha, canfar_home):
    store = config.config_file()
    data = store.read()
    data.setdefault("contexts", {})["fake"] = {
        "backend": "canfar",
        "url": fake_skaha.url,
        "auth": "token",
    }
    data["active"] = "fake"
    store.write(data)  # a context with no credentials saved
    result = run("ps", "-o", "json")
    assert result.code == 1
    assert result.out == ""
    assert error_object(result.err)["code"] == "authentication.required"


def test_unreachable_server_in_machine_mode_is_transport_failure(run, fake):
    fake.stop()
    result = run("ps", "-o", "yaml")
    assert result.code == 1
    assert result.out == ""
    record = yaml.safe_load(result.err)
    assert record["code"] == "transport.failure"
    assert set(record) == {"code", "message", "hint"}


# -- delete, prune, events --------------------------------------------------------------------


def test_delete_force_deletes_without_asking(run, fake):
    first, second = fake.add_session(name="a"), fake.add_session(name="b")
    result = run("delete", first, second, "-f")
    assert result.code == 0, result.err
    assert sorted(result.out.split()) == sorted([first, second])
    assert len(fake.requests_to("DELETE")) == 2


def test_delete_without_a_terminal_and_without_force_deletes_nothing(run, fake):
    sid = fake.add_session(name="a")
    result = run("delete", sid)
    assert result.code == 2
    assert "--force" in result.err
    assert fake.requests_to("DELETE") == []
    assert fake.status_of(sid) != "Terminating"


def test_delete_on_a_terminal_asks_first(run, fake, terminal):
    sid = fake.add_session(name="a")
    refused = run("delete", sid, stdin="n\n")
    assert refused.code == 0
    assert "Nothing was deleted" in refused.err
    assert fake.requests_to("DELETE") == []
    accepted = run("delete", sid, stdin="y\n")
    assert accepted.code == 0, accepted.err
    assert accepted.out.split() == [sid]
    assert len(fake.requests_to("DELETE")) == 1


def test_events_takes_several_ids(run, fake):
    first, second = fake.add_session(name="a"), fake.add_session(name="b")
    result = run("events", first, second)
    assert result.code == 0, result.err
    assert f"==> {first} <==" in result.out
    assert f"==> {second} <==" in result.out
    assert len(fake.requests_to("GET", r"/v1/session/[^/]+$")) >= 2


# -- auth, server, image, config, feedback ----------------------------------------------------


def test_auth_show_output_json_has_the_public_keys(run, fake):
    result = run("auth", "show", "-o", "json")
    assert result.code == 0, result.err
    record = json.loads(result.out)
    assert {"idp", "name", "mode", "expiry", "active", "server"} <= set(record)
    assert (record["mode"], record["active"], record["server"]) == ("token", True, "fake")
    assert fake.token not in result.out


def test_auth_alone_is_auth_show(run, fake):
    alone = json.loads(run("auth", "-o", "json").out)
    shown = json.loads(run("auth", "show", "-o", "json").out)
    assert alone == shown


def test_auth_ls_output_yaml_lists_each_context(run, fake):
    result = run("auth", "ls", "--output", "yaml")
    assert result.code == 0, result.err
    records = yaml.safe_load(result.out)
    assert [(r["idp"], r["active"]) for r in records] == [("fake", True), ("local", False)]


def test_auth_use_switches_the_active_context(run, fake):
    assert run("auth", "use", "local").code == 0
    assert config.config_file().read()["active"] == "local"
    assert run("auth", "use", "fake").code == 0
    assert config.config_file().read()["active"] == "fake"


def test_auth_rm_of_the_active_context_needs_force_without_a_terminal(run, fake):
    refused = run("auth", "rm", "fake")
    assert refused.code == 2
    assert "--force" in refused.err
    assert "fake" in config.config_file().read()["contexts"]
    removed = run("auth", "rm", "fake", "-f")
    assert removed.code == 0, removed.err
    assert "fake" not in config.config_file().read().get("contexts", {})
    assert "fake" not in config.credentials_file().read()


def test_auth_purge_requires_force(run, fake):
    assert run("auth", "purge").code == 2
    assert "fake" in config.config_file().read()["contexts"]
    result = run("auth", "purge", "--force")
    assert result.code == 0, result.err
    assert not config.config_file().read().get("contexts")
    assert config.credentials_file().read() == {}


def test_server_ls_output_json_has_the_public_keys(run, fake):
    result = run("server", "ls", "-o", "json")
    assert result.code == 0, result.err
    (record,) = json.loads(result.out)
    assert {"name", "uri", "url", "version", "auths", "idp", "storage", "resources"} <= set(record)
    assert (record["name"], record["url"], record["auths"]) == ("fake", fake.url, ["token"])


def test_server_use_by_url(run, fake):
    run("auth", "use", "local")
    result = run("server", "use", fake.url)
    assert result.code == 0, result.err
    assert config.config_file().read()["active"] == "fake"
    unknown = run("server", "use", "nowhere")
    assert unknown.code == 1
    assert "nowhere" in unknown.err


def test_image_ls_kind_is_sent_to_the_server(run, fake):
    result = run("image", "ls", "--kind", "notebook")
    assert result.code == 0, result.err
    (request,) = fake.requests_to("GET", r"/v1/image$")
    assert request.param("type") == "notebook"


def test_config_get_output_json(run, fake):
    result = run("config", "get", "active", "-o", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == "fake"
    shown = yaml.safe_load(run("config", "show", "-o", "yaml").out)
    assert shown["contexts"]["fake"]["url"] == fake.url


def test_feedback_says_where_to_write_and_touches_nothing(run, fake):
    result = run("feedback")
    assert result.code == 0
    assert "@" in result.out
    assert fake.requests == []


def test_public_names_are_hidden_from_the_list_but_named_in_each_help(run, fake):
    top = run("--help").out
    assert "  login" not in top
    assert "  server" not in top
    assert "canfar login" in run("auth", "login", "--help").out
    assert "auth show" in run("auth", "status", "--help").out
    assert "image ls" in run("images", "--help").out


# -- logging ----------------------------------------------------------------------------------


def test_debug_after_the_command_is_accepted(run, fake):
    result = run("ps", "--debug")
    assert result.code == 0, result.err
    assert "canfar.http" in result.err


# -- prune, public kinds and statuses, a public client's login ---------------------------------


def test_prune_positionally_with_the_public_default_status_word(run, fake):
    done = fake.add_session(name="run-1", status="Completed")
    fake.add_session(name="run-2", status="Running")
    fake.add_session(name="other", status="Completed")
    fake.add_session(name="run-nb", type="notebook", status="Completed")
    result = run("prune", "run", "headless", "Succeeded", "--yes")
    assert result.code == 0, result.err
    assert result.out.split() == [done]
    assert [r.path.rsplit("/", 1)[1] for r in fake.requests_to("DELETE")] == [done]


def test_prune_with_regex_characters_matches_a_regular_expression(run, fake):
    first = fake.add_session(name="fit-1", status="Failed")
    third = fake.add_session(name="fit-3", status="Failed")
    fake.add_session(name="fit-2", status="Failed")
    fake.add_session(name="fit-13", status="Failed")
    result = run("prune", "fit-(1|3)$", "headless", "Failed", "--yes")
    assert result.code == 0, result.err
    assert sorted(result.out.split()) == sorted([first, third])


def test_prune_bad_regex_or_twice_given_kind_is_exit_2_and_deletes_nothing(run, fake):
    fake.add_session(name="fit-1", status="Completed")
    bad = run("prune", "fit-(", "--yes")
    assert bad.code == 2
    assert "fit-(" in bad.err
    twice = run("prune", "fit", "headless", "--kind", "notebook", "--yes")
    assert twice.code == 2
    assert fake.requests_to("DELETE") == []


def test_prune_without_a_terminal_deletes_what_matches(run, fake):
    done = fake.add_session(name="fit-1", status="Completed")
    kept = fake.add_session(name="other-1", status="Completed")
    dry = run("prune", "FIT", "--dry-run")
    assert dry.code == 0, dry.err
    assert done in dry.out
    assert kept not in dry.out
    assert fake.requests_to("DELETE") == []
    result = run("prune", "fit")
    assert (result.code, result.out.split()) == (0, [done]), result.err
    assert [r.path.rsplit("/", 1)[-1] for r in fake.requests_to("DELETE")] == [done]


def test_ps_accepts_the_public_status_and_kind_words(run, fake):
    done = fake.add_session(name="a", status="Completed")
    assert run("ps", "--status", "Succeeded", "-q").out.split() == [done]
    result = run("ps", "--all", "--kind", "desktop-app", "-o", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == []


def test_an_unusable_public_client_login_is_refused_not_run_locally(
    run, canfar_home, tmp_path, monkeypatch
):
    home = tmp_path / "home"
    (home / ".canfar").mkdir(parents=True)
    (home / ".canfar" / "config.yaml").write_text("version: 2\nactive:\n  authentication: cadc\n")
    monkeypatch.setenv("HOME", str(home))
    result = run("ps", "-o", "json")
    assert result.code == 1
    assert result.out == ""
    record = error_object(result.err)
    assert record["code"] == "config.invalid"
    assert "public canfar client" in record["message"]
    created = run("create", "headless", "skaha/astroml", "--", "true")
    assert created.code == 1
    assert "public canfar client" in created.err
