"""Headless sessions on this machine: real processes, real logs, real exit codes."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from canfar_core.errors import NotFound
from tests.failures import failure_of
from tests.local.conftest import wait_final, wait_for

ID = re.compile(r"^[a-z][a-z0-9]{7}$")


def test_three_replicas_each_print_their_replica_id(session):
    ids = session.create(
        name="echo",
        image="skaha/astroml:latest",
        cmd="sh",
        args=["-c", 'echo "replica $REPLICA_ID of $REPLICA_COUNT"'],
        replicas=3,
    )
    assert len(ids) == 3
    assert all(ID.match(session_id) for session_id in ids)
    infos = wait_final(session, ids)
    assert [infos[i].name for i in ids] == ["echo-1", "echo-2", "echo-3"]
    assert {infos[i].status for i in ids} == {"Completed"}
    assert {infos[i].exit_code for i in ids} == {0}
    assert [session.logs(i, errors="raise")[i] for i in ids] == [
        f"replica {k} of 3\n" for k in (1, 2, 3)
    ]


def test_one_replica_keeps_its_name_and_still_gets_replica_variables(session):
    [session_id] = session.create(
        name="solo", image="img/x:1", cmd="sh", args=["-c", "echo $REPLICA_ID/$REPLICA_COUNT"]
    )
    info = wait_final(session, [session_id])[session_id]
    assert info.name == "solo"
    assert session.logs(session_id, errors="raise")[session_id] == "1/1\n"


def test_examples_echo_runs_from_the_create_directory(session, workdir):
    script = workdir / "examples" / "echo.py"
    script.parent.mkdir()
    script.write_text(
        "import os\nfrom canfar.helpers import distributed\n"
        "print(os.getcwd(), list(distributed.chunk(range(6))))\n"
    )
    ids = session.create(
        image="skaha/astroml:latest", cmd="python", args=["examples/echo.py"], replicas=2
    )
    wait_final(session, ids)
    assert session.logs(ids[0], errors="raise")[ids[0]] == f"{workdir} [0, 1, 2]\n"
    assert session.logs(ids[1], errors="raise")[ids[1]] == f"{workdir} [3, 4, 5]\n"
    assert session.info(ids[0], errors="raise")[0].extra["workdir"] == str(workdir)


def test_user_environment_and_arguments_reach_the_command_unchanged(session):
    [session_id] = session.create(
        image="img/x:1",
        cmd=sys.executable,
        args=["-c", "import os, sys; print(sys.argv[1:], os.environ['GREETING'])", "a b", "'c'"],
        env={"GREETING": "x=y z"},
        cores=1,
    )
    wait_final(session, [session_id])
    assert session.logs(session_id, errors="raise")[session_id] == "['a b', \"'c'\"] x=y z\n"


def test_logs_are_the_exact_bytes_written_to_stdout_and_stderr(session):
    code = (
        "import sys; sys.stdout.write('tab\\there\\r\\n\\x1b[31mred\\x1b[0m [b]x[/b]\\n');"
        "sys.stdout.flush(); sys.stderr.write('to stderr\\n')"
    )
    [session_id] = session.create(image="img/x:1", cmd=sys.executable, args=["-c", code])
    wait_final(session, [session_id])
    assert (
        session.logs(session_id, errors="raise")[session_id]
        == "tab\there\r\n\x1b[31mred\x1b[0m [b]x[/b]\nto stderr\n"
    )


def test_exit_codes_decide_completed_or_failed(session):
    ok, bad = (
        session.create(image="img/x:1", cmd="sh", args=["-c", f"exit {code}"])[0] for code in (0, 3)
    )
    infos = wait_final(session, [ok, bad])
    assert (infos[ok].status, infos[ok].exit_code) == ("Completed", 0)
    assert (infos[bad].status, infos[bad].exit_code) == ("Failed", 3)
    assert "exit code 3" in session.events(bad, errors="raise")[0][bad]


def test_a_missing_command_fails_with_the_shell_message_in_the_log(session):
    [session_id] = session.create(image="img/x:1", cmd="no-such-command-here")
    info = wait_final(session, [session_id])[session_id]
    assert (info.status, info.exit_code) == ("Failed", 127)
    assert "no-such-command-here" in session.logs(session_id, errors="raise")[session_id]


def test_the_host_environment_warning_is_printed_once_per_create(session, capsys):
    ids = session.create(image="skaha/astroml:latest", cmd="true", replicas=3)
    wait_final(session, ids)
    err = capsys.readouterr().err
    assert err.count("Warning:") == 1
    assert "skaha/astroml:latest" in err
    session.create(image="skaha/astroml:latest", cmd="true", runtime="host")
    assert "Warning" not in capsys.readouterr().err


def test_follow_logs_yields_output_as_it_comes_until_the_session_ends(session, tmp_path):
    # The session prints 0, then waits (30 s at most) until the test has been given that line:
    # only a follower that streams gets it before the session ends.
    go = tmp_path / "go"
    code = (
        "import os, time\nprint(0, flush=True)\nwaited = 0\n"
        f"while not os.path.exists({str(go)!r}) and waited < 1500:\n"
        "    time.sleep(0.02)\n    waited += 1\n"
        "print(1, flush=True)\nprint(2, flush=True)\n"
    )
    [session_id] = session.create(image="img/x:1", cmd=sys.executable, args=["-c", code])
    pieces = []
    for text in session.follow_logs(session_id, poll=0.05):
        pieces.append(text)
        go.touch()
    assert "".join(pieces) == "0\n1\n2\n"
    assert pieces[0] == "0\n"  # it streamed, rather than waiting for the end
    assert session.info(session_id, errors="raise")[0].status == "Completed"


def test_follow_logs_keeps_multibyte_characters_whole(session):
    code = (
        "import sys, time\nout = sys.stdout.buffer\n"
        "out.write('é'.encode()[:1]); out.flush(); time.sleep(0.3)\n"
        "out.write('é'.encode()[1:] + b'\\n'); out.flush()\n"
    )
    [session_id] = session.create(image="img/x:1", cmd=sys.executable, args=["-c", code])
    assert "".join(session.follow_logs(session_id, poll=0.05)) == "é\n"


def test_events_tell_when_it_was_created_started_and_how_it_ended(session, workdir):
    [session_id] = session.create(image="skaha/astroml:latest", cmd="sh", args=["-c", "exit 0"])
    wait_final(session, [session_id])
    text = session.events(session_id, errors="raise")[0][session_id]
    lines = text.splitlines()
    assert lines[0].split() == ["TIME", "EVENT", "MESSAGE"]
    assert [line.split()[1] for line in lines[1:]] == ["Created", "Started", "Exited"]
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ", line) for line in lines[1:])
    assert str(workdir) in lines[1]
    assert "skaha/astroml:latest" in lines[1]
    assert "exit code 0" in lines[3]


def test_unknown_sessions_are_not_found(session):
    for call in (session.info, session.logs, session.events):
        with pytest.raises(NotFound, match="abcdefgh"):
            raise failure_of(call, "abcdefgh")


def test_replicas_outlive_the_process_that_launched_them(session, state_root, tmp_path):
    """A Python process launches a replica and exits; the replica goes on and its code is kept."""
    import subprocess

    # The replica runs until the test lets it finish (30 s at most), however slowly the
    # launcher exits.
    go = tmp_path / "go"
    script = (
        f"i=0; while [ ! -e '{go}' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; "
        "echo done; exit 4"
    )
    launcher = (
        "from canfar.sessions import Session\n"
        "print(Session(backend='local').create(image='img/x:1', cmd='sh', "
        f"args=['-c', {script!r}])[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", launcher], capture_output=True, text=True, timeout=30, check=True
    )
    session_id = done.stdout.strip()
    assert (
        session.info(session_id, errors="raise")[0].status == "Running"
    )  # the launcher is gone, it is not
    go.touch()
    info = wait_final(session, [session_id])[session_id]
    assert (info.status, info.exit_code) == ("Failed", 4)
    assert session.logs(session_id, errors="raise")[session_id] == "done\n"


def test_a_finished_session_gets_its_status_from_its_exit_file(session, state_root):
    """Nobody watched it finish; the next look at it reads the code the wrapper left."""
    from canfar_plugins.local.state import Store

    [session_id] = session.create(image="img/x:1", cmd="sh", args=["-c", "exit 6"])
    exit_file = state_root / "exit" / session_id
    wait_for(exit_file.exists, what="the exit file")
    assert Store(state_root).get(session_id).status == "Running"  # as last recorded
    info = session.info(session_id, errors="raise")[0]
    assert (info.status, info.exit_code) == ("Failed", 6)
    assert Store(state_root).get(session_id).status == "Failed"  # and now recorded


def test_logs_live_in_the_state_folder(session, state_root):
    [session_id] = session.create(image="img/x:1", cmd="echo", args=["hi"])
    wait_final(session, [session_id])
    log = Path(session.info(session_id, errors="raise")[0].extra["log"])
    assert log == state_root / "logs" / f"{session_id}.log"
    assert log.read_bytes() == b"hi\n"
    assert (state_root / "sessions.sqlite3").stat().st_mode & 0o077 == 0


def _failing_spawn(monkeypatch, on_call: int, error: BaseException) -> None:
    from canfar_plugins.local import processes

    real = processes.spawn
    count = {"n": 0}

    def spawn(*args, **kwargs):
        count["n"] += 1
        if count["n"] == on_call:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(processes, "spawn", spawn)


def test_one_replica_failing_to_start_leaves_the_others_running(session, monkeypatch):
    import errno

    from canfar_core.errors import LaunchError

    _failing_spawn(monkeypatch, 2, OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(LaunchError) as caught:
        session.create(name="part", image="img/x:1", cmd="true", replicas=3, errors="raise")
    assert caught.value.failures == {2: "could not start: No space left on device"}
    assert len(caught.value.ids) == 2
    assert sorted(s.name for s in session.fetch()) == ["part-1", "part-3"]


def test_an_interrupted_launch_keeps_what_it_started_and_nothing_else(session, monkeypatch):
    from canfar_core.errors import LaunchInterrupted

    _failing_spawn(monkeypatch, 3, KeyboardInterrupt())
    with pytest.raises(LaunchInterrupted) as caught:
        session.create(name="cut", image="img/x:1", cmd="sleep", args=["300"], replicas=5)
    listed = session.fetch()
    assert sorted(s.name for s in listed) == ["cut-1", "cut-2"]
    assert {s.status for s in listed} == {"Running"}
    assert caught.value.ids == [s.id for s in sorted(listed, key=lambda s: s.name)]
    assert caught.value.not_sent == [3, 4, 5]
    assert isinstance(caught.value, KeyboardInterrupt)  # code that stops on Ctrl-C still does
