"""The user is told the truth when the server misbehaves: redirects, cut-off and late answers,
resets, 429 and 503, trickled answers, transient errors while waiting. The fake service on
loopback, the real ``canfar`` command.

Figures: duplicates after following any printed hint (0).
"""

from __future__ import annotations

import json
import re
import time
import tracemalloc
from collections import Counter

import pytest

SESSION_LIST = r"/v1/session$"
ONE_SESSION = r"/v1/session/[^/]+$"
CREATE = ["create", "headless", "skaha/astroml", "--name", "fit"]


def names_on(fake) -> Counter[str]:
    return Counter(s.name for s in fake.live_sessions())


def printed_ids(out: str) -> list[str]:
    return re.findall(r"^([a-z0-9]{8})\s", out, re.MULTILINE)


def duplicates(fake) -> int:
    return sum(count - 1 for count in names_on(fake).values())


def follow_hint(run, fake, err: str, args: list[str]):
    """Run the command again with the ``--only-replicas`` the hint printed (if any)."""
    hint = re.search(r"add --only-replicas (\S+) to the same command", err)
    if hint is None:
        return None
    fake.clear_faults()
    return run(*args[:-2], "--only-replicas", hint.group(1), *args[-2:])


# -- item: redirects ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "method"), [("delete", "DELETE"), ("renew", "POST")], ids=["delete", "renew"]
)
def test_a_302_to_delete_or_renew_is_an_error_not_a_success(run, fake, command, method):
    session_id = fake.add_session(name="kept", type="notebook")
    fake.inject(method, ONE_SESSION, 302, headers={"Location": "/skaha/v1/session"})
    force = ("--force",) if command == "delete" else ()  # no terminal here to confirm on
    result = run(command, *force, "--json", session_id)
    assert result.code == 1
    (entry,) = json.loads(result.out)
    assert entry["ok"] is False
    assert "redirect" in entry["error"]
    assert "HTTP 302" in entry["error"]
    assert session_id in {s.id for s in fake.live_sessions()}
    listing = ["GET"] if command == "delete" else []  # delete checks the ids in one listing
    assert [r.method for r in fake.requests] == [*listing, method]  # not followed as a GET


# -- items: cut-off answers, timeouts, resets ---------------------------------------------------


def test_a_create_answer_cut_off_after_the_session_was_made_is_found_by_name(run, fake):
    fake.inject("POST", SESSION_LIST, truncate=True, times=1)
    args = [*CREATE, "-r", "3", "--", "true"]
    result = run(*args)
    assert result.code == 0, result.err
    assert sorted(printed_ids(result.out)) == sorted(s.id for s in fake.live_sessions())
    assert follow_hint(run, fake, result.err, args) is None
    assert duplicates(fake) == 0


def test_a_truncated_create_answer_is_never_printed_as_a_session_id(run, fake):
    fake.inject("POST", SESSION_LIST, truncate=True, times=1)
    result = run(*CREATE, "-q", "--", "true")
    assert result.code == 0, result.err
    assert result.out.split() == [s.id for s in fake.live_sessions()]


def test_when_every_create_times_out_the_sessions_that_exist_are_printed(run, fake, monkeypatch):
    monkeypatch.setenv("CANFAR_HTTP_TIMEOUT", "0.3")
    fake.inject("POST", SESSION_LIST, delay_after=0.6, times=None)
    result = run(*CREATE, "-r", "5", "--json", "--", "true")
    time.sleep(0.4)  # let the server finish its late answers before it stops
    ids = json.loads(result.out)  # create --json: the ids launched
    assert result.code == 0, result.err
    assert sorted(ids) == sorted(s.id for s in fake.live_sessions())
    assert len(ids) == 5


def test_0_duplicates_after_the_hint_when_a_session_cannot_be_looked_for(run, fake):
    """A create whose answer was lost, and a listing that fails: the replica may exist, so the
    hint leaves it out and following the hint makes no duplicate."""
    fake.inject("POST", SESSION_LIST, times=1)
    fake.inject("POST", SESSION_LIST, reset_after=True, times=1)  # made, answer lost
    fake.inject("POST", SESSION_LIST, 500, times=1)  # certainly not made
    fake.inject("GET", SESSION_LIST, 503, times=None)
    args = [*CREATE, "-r", "4", "--", "true"]
    result = run(*args)
    assert result.code == 1
    assert "may exist" in result.err
    assert "canfar ps -a" in result.err
    again = follow_hint(run, fake, result.err, args)
    assert again is not None
    assert again.code == 0, again
    assert duplicates(fake) == 0
    assert set(names_on(fake)) == {"fit-1", "fit-2", "fit-3", "fit-4"}


def test_one_connection_reset_does_not_stop_the_other_replicas(run, fake):
    fake.inject("POST", SESSION_LIST, reset=True, times=1)  # nothing was made
    args = [*CREATE, "-r", "40", "-o", "json", "--", "true"]
    result = run(*args)
    assert len(json.loads(result.out)) == 39  # the ids launched
    document = json.loads(result.err)["details"]  # the error object says what the others are
    assert len(fake.requests_to("POST")) == 40
    assert len(document["sessions"]) == 39
    assert document["not_sent"] == []
    (lost,) = document["uncertain"]
    assert lost["reason"].startswith("the connection")
    assert result.code == 1
    assert duplicates(fake) == 0


# -- item: waiting ------------------------------------------------------------------------------


def test_a_transient_500_while_waiting_does_not_end_the_wait(run, fake):
    fake.run_seconds = 0.5
    fake.inject("GET", SESSION_LIST, times=1)  # the listing taken before the launch
    fake.inject("GET", SESSION_LIST, 500, times=1)  # the first poll of the wait
    result = run(*CREATE, "-r", "3", "--wait", "-q", "--", "true")
    assert result.code == 0, result.err
    assert sorted(result.out.split()) == sorted(s.id for s in fake.sessions.values())


def test_ids_are_printed_with_q_and_json_even_when_the_wait_fails(run, fake):
    fake.inject("GET", ONE_SESSION, 404, times=None)
    result = run(*CREATE, "--wait", "-q", "--", "true")
    assert result.code == 1
    assert result.out.split() == [s.id for s in fake.sessions.values()]
    fake.clear_requests()
    result = run(*CREATE, "--wait", "--json", "--", "true")
    assert result.code == 1
    assert len(json.loads(result.out)) == 1


# -- item: --only-replicas bound ----------------------------------------------------------------


def test_only_replicas_is_refused_before_it_is_expanded(run, fake):
    tracemalloc.start()
    try:
        result = run(*CREATE, "-r", "10", "--only-replicas", "1-2000000", "--", "true")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.code == 2
    assert "not between 1 and 10" in result.error_line()
    assert peak < 8_000_000, f"{peak / 1e6:.0f} MB allocated to refuse it"
    assert fake.requests == []


def test_only_replicas_1_to_300000000_is_refused_at_once(run, fake):
    result = run(*CREATE, "-r", "10", "--only-replicas", "1-300000000", "--", "true")
    assert result.code == 2
    assert "300000000 is not between 1 and 10" in result.error_line()


# -- item: 429, 503 and deadlines ---------------------------------------------------------------


def test_429_is_retried_after_the_time_the_server_asks(run, fake):
    fake.add_session(name="listed")
    fake.inject("GET", SESSION_LIST, 429, headers={"Retry-After": "1"}, times=1)
    result = run("ps")
    assert result.code == 0, result.err
    assert "listed" in result.out
    first, second = fake.requests_to("GET", SESSION_LIST)
    assert second.time - first.time >= 0.9


def test_a_create_answered_429_is_sent_again_once_and_made_once(run, fake):
    fake.inject("POST", SESSION_LIST, 429, headers={"Retry-After": "0"}, times=1)
    result = run(*CREATE, "-q", "--", "true")
    assert result.code == 0, result.err
    assert len(fake.live_sessions()) == 1
    assert len(fake.requests_to("POST")) == 2


def test_a_retry_after_beyond_the_deadline_is_not_waited_for(run, fake, monkeypatch):
    monkeypatch.setenv("CANFAR_HTTP_TIMEOUT", "1")
    fake.inject("GET", SESSION_LIST, 503, headers={"Retry-After": "5"}, times=None)
    started = time.monotonic()
    result = run("ps")
    assert time.monotonic() - started < 4  # not the 5 s asked for, however busy the machine
    assert result.code == 1
    assert "try again in 5 s" in result.error_line()


def test_a_server_trickling_its_answer_cannot_hold_ps(run, fake, monkeypatch):
    monkeypatch.setenv("CANFAR_HTTP_TIMEOUT", "0.5")  # each byte comes well within 0.5 s
    fake.add_session(name="trickled")
    fake.inject("GET", SESSION_LIST, trickle=0.1, times=None)
    started = time.monotonic()
    result = run("ps")
    took = time.monotonic() - started
    assert result.code == 1
    assert took < 3, f"{took:.1f} s"
    # the time the message states is the time it took
    stated = float(re.search(r"within ([\d.]+) s", result.error_line()).group(1))
    assert abs(stated - took) < 0.5


# -- smaller ------------------------------------------------------------------------------------


def test_create_o_json_says_what_happened_to_each_replica_when_every_one_fails(run, fake):
    fake.inject("POST", SESSION_LIST, 400, body="bad request\n", times=None)
    result = run(*CREATE, "-r", "2", "-o", "json", "--", "true")
    assert result.code == 1
    assert result.out == ""
    document = json.loads(result.err)["details"]  # in the error object, with -o json
    assert document["sessions"] == []
    assert [f["replica"] for f in document["failures"]] == [1, 2]


def test_logs_streams_the_output_instead_of_holding_copies_of_it(run, fake):
    size = 20_000_000
    session_id = fake.add_session(name="chatty", logs="x" * (size - 1) + "\n")
    tracemalloc.start()
    try:
        result = run("logs", session_id)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.code == 0, result.err
    assert len(result.out) == size
    # The captured stdout and its text are a log's worth each (the fake server encoded the log
    # before the measure began); the client streams, adding little (holding the answer, its
    # text and its bytes made 5 x).
    assert peak < 2.5 * size, f"peak {peak / size:.1f} x the log"


def test_logs_follow_polls_less_often_while_nothing_new_comes(run, fake, monkeypatch):
    import threading

    session_id = fake.add_session(name="quiet", logs="started\n")
    threading.Timer(2.5, fake.set_status, (session_id, "Completed")).start()
    result = run("logs", "-f", session_id)
    assert result.code == 0, result.err
    assert result.out == "started\n"
    polls = len(fake.requests_to("GET", ONE_SESSION))
    # Polls 1 s apart would make 8 requests by 2.5 s (4 of info, 4 of the log); pauses of 1
    # then 2 s make 6. The service cannot send a log from an offset: each poll gets all of it.
    assert polls <= 6, polls


def test_an_unbalanced_quote_in_args_is_a_clear_error(fake):
    from canfar.errors import ValidationError
    from canfar.sessions import Session

    with pytest.raises(ValidationError, match="no closing quotation"):
        Session().create(name="q", image="skaha/astroml", cmd="echo", args="it's")
    assert fake.requests_to("POST") == []


def test_a_plain_http_server_url_is_saved_with_a_warning(run):
    result = run(
        "auth", "login", "--url", "http://sp.example.org/skaha", "--token-stdin", "--no-verify",
        stdin="tok-0123456789abcdef",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "Warning: http://sp.example.org/skaha is plain http" in result.err
    assert "sp.example.org" in run("auth", "list").out


def test_a_password_in_the_server_url_is_never_printed(run, monkeypatch):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("CANFAR_URL", f"http://jdoe:hunter2-secret@127.0.0.1:{port}/skaha")
    monkeypatch.setenv("CANFAR_TOKEN", "tok-0123456789abcdef")
    for args in (["ps"], ["info", "abc123"], ["create", "headless", "skaha/astroml", "true"]):
        result = run(*args)
        assert result.code != 0
        assert "hunter2-secret" not in result.out + result.err


def test_auth_list_and_status_never_show_a_password_saved_in_the_url(run):
    url = "http://jdoe:hunter2-secret@sp.example.org/skaha"
    login = run(
        "auth", "login", "--url", url, "--token-stdin", "--no-verify", stdin="tok-0123456789"
    )
    assert login.code == 0, login.err
    for args in (["auth", "list"], ["auth", "list", "--json"]):
        result = run(*args)
        assert "sp.example.org" in result.out
        assert "hunter2-secret" not in result.out + result.err
    assert "hunter2-secret" not in login.err


def test_ps_and_info_show_terminal_escapes_from_the_server_escaped(run, fake):
    session_id = fake.add_session(name="job", image="evil\x1b]0;pwned\x07\x1b[2J:latest")
    for args in (["ps"], ["info", session_id]):
        result = run(*args)
        assert result.code == 0, result.err
        assert "\x1b" not in result.out
        assert "\\x1b" in result.out


def test_replicas_never_sent_are_reported_as_not_sent(run, fake):
    """Credentials refused part way: the launch stops, and the replicas it never sent are
    named as not sent (they do not exist), not as 'may have been created'."""
    fake.inject("POST", SESSION_LIST, times=3)
    fake.inject("POST", SESSION_LIST, 401, times=None)
    result = run(*CREATE, "-r", "40", "-o", "json", "--", "true")
    assert result.code == 1
    document = json.loads(result.err)["details"]  # the -o json error object says what exists
    sent = len(fake.requests_to("POST"))
    assert len(document["sessions"]) == 3
    assert len(document["not_sent"]) == 40 - sent > 0
    assert document["uncertain"] == []
    assert "may have been created" not in result.err


def test_logs_saved_to_a_folder_are_streamed_to_the_file(run, fake, tmp_path):
    size = 20_000_000
    session_id = fake.add_session(name="chatty", logs="y" * (size - 1) + "\n")
    tracemalloc.start()
    try:
        result = run("logs", "-o", str(tmp_path / "out"), "-q", session_id)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.code == 0, result.err
    (path,) = result.out.split()
    with open(path, "rb") as saved:
        assert len(saved.read()) == size
    # The client streams to the file rather than holding the log (a log's worth or more).
    assert peak < 1.5 * size, f"peak {peak / size:.1f} x the log"


# -- item: a delete of an id the platform does not have ---------------------------------------


def test_deleting_an_unknown_id_says_so_and_sends_no_delete(run, fake):
    """The platform answers 200 to a DELETE of any id: a mistyped id must not read "Deleted"
    while the session meant runs on, and without a terminal nothing is asked first."""
    kept = fake.add_session(name="kept")
    result = run("delete", "zzzzzzzz")  # no terminal, no --force: not asked, since none exists
    assert result.code == 1, result.err
    assert result.err == "Error: session zzzzzzzz not found\n"
    assert "--force" not in result.err
    assert "DELETE" not in {r.method for r in fake.requests}
    assert kept in {s.id for s in fake.live_sessions()}


def test_a_delete_of_known_and_unknown_ids_deletes_the_known_and_exits_1(run, fake):
    gone = fake.add_session(name="gone")
    result = run("delete", "--force", gone, "zzzzzzzz")
    assert result.code == 1
    assert result.out.split() == [gone]
    assert result.err == "Deleted 1 session.\nError: session zzzzzzzz not found\n"
    assert fake.live_sessions() == []
    assert [r.method for r in fake.requests].count("DELETE") == 1


# -- item: a lost answer is looked up by name, among this launch's sessions only ---------------


def test_a_rerun_whose_answer_is_lost_does_not_report_the_earlier_session(run, fake):
    """`create --name fit -r 3 --only-replicas 2` run twice: the second run's create is made
    but its answer lost (a reset), and the first run's fit-2 is still listed. It must not be
    printed as the new launch: the replica is uncertain and the exit code is 1."""
    args = [*CREATE, "-r", "3", "--only-replicas", "2", "-q", "--", "true"]
    first = run(*args)
    assert first.code == 0, first.err
    (earlier,) = first.out.split()
    fake.inject("POST", SESSION_LIST, reset=True, times=1)  # nothing made, answer lost
    second = run(*args)
    assert second.code == 1
    assert earlier not in second.out
    assert "may exist" in second.err
    assert [s.id for s in fake.live_sessions()] == [earlier]


def test_a_lost_answer_of_this_launch_is_found_beside_an_earlier_session_of_its_name(run, fake):
    earlier = fake.add_session(name="fit-2")
    fake.inject("POST", SESSION_LIST, reset_after=True, times=1)  # made, answer lost
    result = run(*CREATE, "-r", "3", "--only-replicas", "2", "-q", "--", "true")
    assert result.code == 0, result.err
    (launched,) = result.out.split()
    assert launched != earlier
    assert {s.id for s in fake.live_sessions()} == {earlier, launched}
