"""``canfar logs`` with several ids and ``-o DIR``: each log saved byte-exact to its own file,
one line per file, one error line per id that failed."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
from pathlib import Path

import pytest

from canfar_plugins.session_commands.logfiles import log_filename

LOG = "tab\there [bold]not markup[/bold] \x1b[31mred\x1b[0m\r\n" + "x" * 300 + "\nλ no newline"


def test_several_ids_are_printed_after_tail_style_headers(world, run):
    one, two, three = world.add("a"), world.add("b"), world.add("c")
    world.logs.update({one: "first\n", two: "no newline", three: LOG})
    result = run("logs", one, two, three)
    assert result.code == 0, result.err
    assert result.out == (
        f"==> {one} <==\nfirst\n\n==> {two} <==\nno newline\n==> {three} <==\n{LOG}"
    )


def test_one_id_is_printed_bare(world, run):
    sid = world.add("a")
    world.logs[sid] = LOG
    assert run("logs", sid).out == LOG
    assert run("logs", sid, sid).out == LOG  # the same id twice is one id


def test_several_ids_as_json_and_an_unknown_one(world, run):
    one, two = world.add("a"), world.add("b")
    world.logs.update({one: LOG, two: ""})
    result = run("logs", "--json", one, "m0009999", two)
    assert result.code == 1
    assert json.loads(result.out) == [{"id": one, "logs": LOG}, {"id": two, "logs": ""}]
    assert result.err == "Error: no session with id 'm0009999'\n"


def test_save_writes_each_log_byte_exact_under_a_name_that_sorts(world, run, tmp_path):
    ids = [world.add(f"fit-{k}", status="Completed") for k in (1, 2, 10, 100)]
    for k, sid in enumerate(ids):
        world.logs[sid] = f"replica {k}\n{LOG}"
    out = tmp_path / "logs" / "run1"
    result = run("logs", "-o", str(out), *ids)
    assert result.code == 0, result.err
    assert result.out == ""
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"fit-{k:03d}.{sid}.log" for k, sid in zip((1, 2, 10, 100), ids, strict=True)]
    for k, sid in enumerate(ids):
        data = (out / log_filename(f"fit-{(1, 2, 10, 100)[k]}", sid)).read_bytes()
        assert data == f"replica {k}\n{LOG}".encode()
    lines = result.err.splitlines()
    assert len(lines) == 4
    for sid, line in zip(ids, lines, strict=True):
        assert line.startswith(f"Saved {sid} to {out}/fit-")


def test_quiet_prints_the_paths_on_stdout(world, run, tmp_path):
    ids = [world.add("a"), world.add("b")]
    result = run("logs", "-q", "-o", str(tmp_path), *ids)
    assert result.code == 0
    assert result.err == ""
    paths = result.out.splitlines()
    assert paths == [str(tmp_path / f"a.{ids[0]}.log"), str(tmp_path / f"b.{ids[1]}.log")]
    assert all(Path(p).read_bytes() == b"" for p in paths)


def test_json_with_output_reports_every_id(world, run, tmp_path):
    sid = world.add("a")
    world.logs[sid] = "abc\n"
    result = run("logs", "--json", "-o", str(tmp_path), sid, "m0009999")
    assert result.code == 1
    assert json.loads(result.out) == [
        {"id": sid, "path": str(tmp_path / f"a.{sid}.log"), "bytes": 4, "error": None},
        {"id": "m0009999", "path": None, "bytes": None, "error": "no session with id 'm0009999'"},
    ]


def test_a_failed_id_is_one_error_line_the_others_are_saved(world, run, tmp_path, monkeypatch):
    good, bad = world.add("good"), world.add("bad")
    world.logs[good] = "fine\n"
    from canfar_core.errors import ServerError
    from tests.api.memory_backend import MemoryBackend

    original = MemoryBackend.logs

    def logs(self, session_id):
        if session_id == bad:
            raise ServerError("the log service failed (HTTP 500)")
        return original(self, session_id)

    monkeypatch.setattr(MemoryBackend, "logs", logs)
    result = run("logs", "-o", str(tmp_path), bad, "m0009999", good)
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if line.startswith("Error: ")]
    assert errors == [
        f"Error: {bad}: the log service failed (HTTP 500)",
        "Error: no session with id 'm0009999'",
    ]
    assert f"Saved {good}" in result.err
    assert [p.name for p in tmp_path.iterdir()] == [f"good.{good}.log"]


def test_an_existing_file_is_replaced_whole_and_nothing_is_left_beside_it(world, run, tmp_path):
    sid = world.add("a")
    target = tmp_path / f"a.{sid}.log"
    target.write_text("old and much longer content\n" * 50)
    world.logs[sid] = "new\n"
    assert run("logs", "-o", str(tmp_path), sid).code == 0
    assert target.read_bytes() == b"new\n"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left


def test_files_follow_the_umask(world, run, tmp_path):
    sid = world.add("a")
    old = os.umask(0o027)
    try:
        assert run("logs", "-o", str(tmp_path), sid).code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / f"a.{sid}.log").stat().st_mode) == 0o640


def test_an_output_that_is_a_file_is_one_clear_error(world, run, tmp_path):
    sid = world.add("a")
    blocker = tmp_path / "logs"
    blocker.write_text("")
    result = run("logs", "-o", str(blocker), sid)
    assert result.code == 1
    assert result.err == f"Error: cannot save logs in {blocker}: it is a file, not a folder\n"


def test_an_output_folder_with_a_nul_byte_is_a_usage_error(world, run, tmp_path):
    sid = world.add("a")
    world.logs[sid] = LOG
    result = run("logs", "-o", f"{tmp_path}/logs\x00", sid)
    assert result.code == 2
    assert result.err == f"Error: the argument '{tmp_path}/logs\\x00' holds a NUL byte\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["-f", "ID", "ID2"], "--follow"),
        (["-f", "-o", "DIR", "ID"], "--follow"),
        (["-q", "ID"], "--quiet"),
        (["-q", "--json", "-o", "DIR", "ID"], "--json"),
        (["ID", "../x"], "'../x' is not a session id"),
    ],
)
def test_usage_errors_touch_nothing(world, run, tmp_path, args, named):
    sid = world.add("a")
    argv = [
        {"ID": sid, "ID2": world.add("b"), "DIR": str(tmp_path / "out")}.get(a, a) for a in args
    ]
    result = run("logs", *argv)
    assert result.code == 2
    assert named in result.err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("name", "sid", "expected"),
    [
        ("fit-7", "k3x9q0ab", "fit-007.k3x9q0ab.log"),
        ("fit-256", "k3x9q0ab", "fit-256.k3x9q0ab.log"),
        ("run-2024", "a1", "run-2024.a1.log"),
        ("plain", "a1", "plain.a1.log"),
        ("../../etc/passwd", "a1", "etc-passwd.a1.log"),
        ("", "a1", "session.a1.log"),
    ],
)
def test_file_names(name, sid, expected):
    assert log_filename(name, sid) == expected


def test_distinct_ids_never_share_a_file_name():
    """The name part holds no '.', so the first '.' marks where the id begins."""
    pairs = [("a-b", "c"), ("a", "b-c"), ("a", "b.c"), ("a.b", "c"), ("a-1", "x"), ("a-001", "x")]
    names = [log_filename(n, i) for n, i in pairs]
    assert names[0] != names[1]
    assert names[2] != names[3]
    assert names[4] == names[5]  # the same session id under the same padded name


# -- the local backend, as a shell uses it ----------------------------------------------------


@pytest.fixture
def local(canfar_home, tmp_path, monkeypatch):
    """The local backend active, in a fresh working folder; its processes killed afterwards."""
    from canfar_core.config import state_dir
    from tests.local.conftest import _kill_everything

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("CANFAR_BACKEND", "local")
    yield work
    _kill_everything(state_dir() / "local")


def test_saving_the_logs_of_every_session_from_ps(local, run):
    from canfar.sessions import Session
    from canfar_core.models import FINAL_STATUSES

    script = 'printf "replica %s of %s\\t\\316\\273\\n" "$REPLICA_ID" "$REPLICA_COUNT"'
    created = run(
        "create", "headless", "img/x:1", "--name", "fit", "--replicas", "3", "-q",
        "--", "sh", "-c", script,
    )  # fmt: skip
    assert created.code == 0, created.err
    ids = created.out.split()
    Session(backend="local").wait(ids, status=FINAL_STATUSES, timeout=15, poll=0.02)
    listed = run("ps", "-q", "--all").out.split()
    assert sorted(listed) == sorted(ids)
    result = run("logs", "-o", "logs/", *listed)
    assert result.code == 0, result.err
    saved = sorted((local / "logs").iterdir())
    assert [p.name for p in saved] == [f"fit-{k:03d}.{sid}.log" for k, sid in enumerate(ids, 1)]
    for k, path in enumerate(saved, 1):
        assert path.read_bytes() == f"replica {k} of 3\t\u03bb\n".encode()


def test_the_shell_idiom_with_the_installed_command(local, run):
    """``canfar logs -o DIR $(canfar ps -q --all)`` in a real shell."""
    from canfar.sessions import Session
    from canfar_core.models import FINAL_STATUSES
    from tests.local.conftest import canfar_command

    ids = run(
        "create", "headless", "img/x:1", "--name", "job", "-q", "--", "echo", "hi"
    ).out.split()
    Session(backend="local").wait(ids, status=FINAL_STATUSES, timeout=15, poll=0.02)
    canfar = shlex.join(canfar_command())
    done = subprocess.run(
        ["sh", "-c", f"{canfar} logs -q -o out $({canfar} ps -q --all)"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"out/job.{ids[0]}.log\n"
    assert (local / "out" / f"job.{ids[0]}.log").read_bytes() == b"hi\n"
