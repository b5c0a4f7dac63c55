"""Replica processes: start them detached, tell whether they live, end whole process groups.

Each replica runs under a tiny ``/bin/sh`` wrapper that is the leader of a new session (so the
replica outlives ``canfar`` and ignores the terminal's Ctrl-C), enters the working directory,
runs the command in the foreground and writes its exit status to a file. Its process group id is
the wrapper's pid. A command killed by signal N is recorded as 128+N, as a shell and a container
runtime report it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# $1: working directory, $2: exit-code file, then the command. One line, as `ps` shows it. The
# code is written to a temporary name and renamed, so a reader never sees half a number.
WRAPPER = (
    'f=$2; if cd -- "$1"; then shift 2; "$@"; c=$?; else c=126; fi; '
    'echo "$c" > "$f.tmp" && mv -f -- "$f.tmp" "$f"; exit "$c"'
)
WRAPPER_NAME = "canfar-replica"
SHELL = "/bin/sh"

_children: set[int] = set()
_children_lock = threading.Lock()


@dataclass(frozen=True)
class Started:
    """A started replica: its process group id and the start mark that guards against pid reuse."""

    pgid: int
    start_mark: str | None


def spawn(
    argv: list[str], *, workdir: str, env: Mapping[str, str], log: str, exit_file: str
) -> Started:
    """Start ``argv`` detached, in its own session, output appended to ``log``.

    Raises :class:`OSError` when the process cannot be started.
    """
    args = [WRAPPER_NAME, "-c", WRAPPER, WRAPPER_NAME, workdir, exit_file, *argv]
    env = dict(env)
    pid = _posix_spawn(args, env, log)
    if pid is None:
        pid = _popen(args, env, log)
    with _children_lock:
        _children.add(pid)
    return Started(pgid=pid, start_mark=start_mark(pid))


def _posix_spawn(args: list[str], env: dict[str, str], log: str) -> int | None:
    if not hasattr(os, "posix_spawn"):
        return None
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    try:
        return os.posix_spawn(SHELL, args, env, file_actions=actions, setsid=True)
    except NotImplementedError:  # no POSIX_SPAWN_SETSID on this system
        return None


def _popen(args: list[str], env: dict[str, str], log: str) -> int:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            args,
            executable=SHELL,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    # Reaped by reap(); mark it done so Popen does not warn that it is still running.
    proc.returncode = 0
    return proc.pid


def reap() -> None:
    """Collect the replicas this process started that have ended, so none lingers as a zombie."""
    with _children_lock:
        pids = list(_children)
    for pid in pids:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            with _children_lock:
                _children.discard(pid)


def start_mark(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot, from ``/proc``), or ``None`` where unknown."""
    stat = _stat(pid)
    return stat[19] if stat and len(stat) > 19 else None


def _stat(pid: int) -> list[str] | None:
    """Fields 3.. of ``/proc/PID/stat`` (state first), or ``None``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    return raw.rpartition(")")[2].split()


def group_alive(pgid: int, mark: str | None) -> bool:
    """Whether any process of replica group ``pgid`` still runs (zombies do not count).

    A live leader with another start mark is a new process that reused the pid: not ours.
    """
    reap()
    stat = _stat(pgid)
    if stat is not None and mark is not None and len(stat) > 19 and stat[19] != mark:
        return False
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if stat is not None and stat[0] != "Z":
        return True
    if not os.path.isdir("/proc/self"):
        return True  # nothing more to learn here without /proc
    # The leader is gone or a zombie: only members that are not zombies waiting for their
    # new parent to collect them keep the session alive.
    return bool(_members([pgid])[pgid])


def read_exit(path: str) -> int | None:
    """The exit code the wrapper wrote, or ``None`` when there is none (yet)."""
    try:
        with open(path, encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def terminate(groups: Iterable[tuple[int, str | None]], grace: float) -> list[int]:
    """End whole process groups: SIGTERM, then SIGKILL to those still alive after ``grace`` s.

    Returns the groups that could not be ended (permission denied, or still there after
    SIGKILL).
    """
    live = [(pgid, mark) for pgid, mark in groups if group_alive(pgid, mark)]
    failed: list[int] = []
    for pgid, _ in live:
        if not _signal(pgid, signal.SIGTERM):
            failed.append(pgid)
    live = [(p, m) for p, m in live if p not in failed]
    live = _wait_gone(live, grace)
    for pgid, _ in live:
        _signal(pgid, signal.SIGKILL)
    live = _wait_gone(live, 2.0)
    return failed + [pgid for pgid, _ in live]


def _signal(pgid: int, signum: int) -> bool:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return True


def _wait_gone(
    groups: list[tuple[int, str | None]], timeout: float
) -> list[tuple[int, str | None]]:
    deadline = time.monotonic() + timeout
    delay = 0.005
    while groups:
        groups = [(p, m) for p, m in groups if group_alive(p, m)]
        if not groups or time.monotonic() >= deadline:
            break
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    return groups


def _members(pgids: Iterable[int]) -> dict[int, list[tuple[int, int]]]:
    """The live processes of each group in ``pgids``: ``(pid, resident bytes)`` pairs."""
    wanted = set(pgids)
    found: dict[int, list[tuple[int, int]]] = {pgid: [] for pgid in wanted}
    if not wanted:
        return found
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            stat = _stat(int(entry.name))
            if not stat or len(stat) < 22 or stat[0] == "Z":
                continue
            try:
                pgrp = int(stat[2])
            except ValueError:
                continue
            if pgrp in wanted:
                found[pgrp].append((int(entry.name), int(stat[21]) * page))
    return found


def group_members(pgids: Iterable[int]) -> dict[int, list[int]]:
    """The live pids of each process group (Linux; empty lists elsewhere)."""
    return {pgid: [pid for pid, _ in procs] for pgid, procs in _members(pgids).items()}


def group_memory(pgids: Iterable[int]) -> dict[int, int]:
    """Resident memory in bytes of each process group (Linux; 0 elsewhere)."""
    return {pgid: sum(rss for _, rss in procs) for pgid, procs in _members(pgids).items()}
