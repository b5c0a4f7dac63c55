"""The installed ``canfar`` command driving the local backend, as a newcomer would."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from canfar_core.manager import get_manager
from canfar_plugins.local import machine
from tests.local.conftest import canfar_command, group_pids, linux_only, wait_final


def canfar(*args: str, check: bool = True, env=None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        canfar_command(*args),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_the_readme_command_runs_with_no_account(session, workdir):
    script = workdir / "examples" / "echo.py"
    script.parent.mkdir()
    script.write_text(
        "import os\nfrom canfar.helpers import distributed\n"
        "print(os.environ['REPLICA_ID'], list(distributed.chunk(range(3))))\n"
    )
    done = canfar(
        "create", "headless", "skaha/astroml:latest", "--replicas", "3", "-q",
        "--", "python", "examples/echo.py",
    )  # fmt: skip
    ids = done.stdout.split()
    assert len(ids) == 3
    assert done.stderr.count("Warning: no container runtime") == 1
    infos = wait_final(session, ids)
    assert {i.status for i in infos.values()} == {"Completed"}
    assert canfar("logs", ids[1]).stdout == "2 [1]\n"
    listed = json.loads(canfar("ps", "--all", "--json").stdout)
    assert sorted(s["id"] for s in listed) == sorted(ids)
    assert {s["image"] for s in listed} == {"skaha/astroml:latest"}


@linux_only
def test_create_exits_while_its_replicas_run_and_delete_stops_them(session):
    done = canfar("create", "headless", "img/x:1", "-q", "--", "sleep", "300")
    [session_id] = done.stdout.split()
    pgid = session.info(session_id, errors="raise")[0].extra["pgid"]
    assert group_pids(pgid)  # the command that launched it has exited; it runs on
    assert session_id in canfar("ps", "-q").stdout.split()
    assert canfar("delete", "--force", session_id).returncode == 0
    assert group_pids(pgid) == []
    assert canfar("ps", "--all", "-q").stdout.split() == []


def test_two_canfar_creates_at_once_both_land_in_ps(session):
    command = canfar_command("create", "headless", "img/x:1", "-r", "4", "-q", "--", "true")
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    ids = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        ids += out.split()
    assert len(set(ids)) == 8
    assert sorted(canfar("ps", "--all", "-q").stdout.split()) == sorted(ids)


def test_refusals_are_one_line_errors_with_exit_codes(session):
    # Only the built-in plugins: a site policy installed here must not answer first.
    others = [p.name for p in get_manager().plugins() if not p.builtin]
    env = {**os.environ, "CANFAR_DISABLE_PLUGINS": ",".join(others)}
    cores = str(machine.cpu_count() + 1)
    too_many = canfar(
        "create", "headless", "img/x:1", "-c", cores, "--", "true", check=False, env=env
    )
    assert too_many.returncode == 2
    assert too_many.stderr == (
        f"Error: cores {cores} is more than this machine has ({machine.cpu_count()} CPUs)\n"
    )
    desktop = canfar("create", "desktop", "skaha/desktop:latest", check=False)
    assert desktop.returncode == 1
    assert "not available on the local backend" in desktop.stderr
    unknown = canfar("delete", "--force", "zzzzzzzz", check=False)
    assert unknown.returncode != 0
    assert "not found" in unknown.stderr


def test_logs_print_the_exact_bytes(session):
    code = "import sys; sys.stdout.write('a\\tb\\r\\n[red]x[/red]\\n')"
    done = canfar("create", "headless", "img/x:1", "-q", "--", sys.executable, "-c", code)
    [session_id] = done.stdout.split()
    wait_final(session, [session_id])
    raw = subprocess.run(canfar_command("logs", session_id), capture_output=True, timeout=60)
    assert raw.stdout == b"a\tb\r\n[red]x[/red]\n"


def test_a_token_without_its_url_runs_nothing_on_this_machine(session, workdir):
    """CI whose URL secret is missing: CANFAR_TOKEN alone must not send the job here."""
    env = {**os.environ, "CANFAR_TOKEN": "secret-token-value"}
    env.pop("CANFAR_URL", None)
    done = canfar("create", "headless", "skaha/astroml", "--", "true", check=False, env=env)
    assert done.returncode == 1, done.stderr
    assert "CANFAR_URL" in done.stderr
    assert "secret-token-value" not in done.stderr + done.stdout
    assert session.fetch() == []
