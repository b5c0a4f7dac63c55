"""Replica processes: start them detached, tell whether they live, end all of a replica's processes.

Each replica runs under a tiny ``/bin/sh`` wrapper that is the leader of a new session (so the
replica outlives ``canfar`` and ignores the terminal's Ctrl-C), enters the working directory,
runs the command in the foreground and writes its exit status to a file. Its process group id is
the wrapper's pid. A command killed by signal N is recorded as 128+N, as a shell and a container
runtime report it.

Every process of a replica also carries :data:`MARKER` (its session id) in its environment from
the moment it exists, and its children inherit it, even those that leave the process group
(``setsid``, a double fork). On Linux the marker is read from ``/proc``: it finds the processes
of a replica whose launch was killed before its process group was recorded, and the detached
children that ``delete`` must stop too. A child that clears its environment (``env -i``) loses
the marker: ``delete`` still finds it below a process of the replica (by parent pid), but one
that both cleared its environment and left the group, and whose parents have all exited (a
double fork), is tied to the replica by nothing and cannot be found. On systems without
``/proc`` only the process group is known.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

# $1: working directory, $2: exit-code file, then the command. One line, as `ps` shows it. The
# code is written to a temporary name and renamed, so a reader never sees half a number. On a
# full disk it is kept as the target of a symbolic link, which needs no data block. A wrapper
# that stops on an error of its own (it cannot fork the command) leaves FILE.stopped, with
# shell built-ins only: the shell has printed why in the log.
WRAPPER = (
    'f=$2; trap \'[ -n "${c+x}" ] || : > "$f.stopped"\' EXIT; '
    'if cd -- "$1"; then shift 2; "$@"; c=$?; else c=126; fi; '
    '{ echo "$c" > "$f.tmp" && mv -f -- "$f.tmp" "$f"; } 2>/dev/null || '
    '{ rm -f -- "$f.tmp"; ln -s "$c" "$f"; }; exit "$c"'
)
#: The suffix of the note a wrapper leaves when it stopped before its command's exit code was
#: known.
STOPPED_SUFFIX = ".stopped"
WRAPPER_NAME = "canfar-replica"
SHELL = "/bin/sh"
#: The variable that names, in the environment of each of its processes, the replica's session.
MARKER = "CANFAR_LOCAL_SESSION"

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


def alive(pid: object, mark: object) -> bool:
    """Whether process ``pid`` still runs and is the one that had start mark ``mark``."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    stat = _stat(pid)
    if stat is not None:
        return stat[0] != "Z" and (mark is None or len(stat) <= 19 or stat[19] == mark)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not os.path.isdir("/proc/self")  # with /proc, no stat means it is gone


def _reused(pgid: int, mark: str | None) -> bool:
    """Whether the leader of group ``pgid`` is a newer process that got the same pid."""
    stat = _stat(pgid)
    return stat is not None and mark is not None and len(stat) > 19 and stat[19] != mark


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
    """The exit code the wrapper wrote (in the file, or as the target of a link on a full
    disk), or ``None`` when there is none (yet)."""
    try:
        return int(os.readlink(path))
    except ValueError:
        return None
    except OSError:
        pass  # not a link: the usual file
    try:
        with open(path, encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def _signal(pgid: int, signum: int) -> bool:
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return True


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


def marked(session_ids: Iterable[str]) -> dict[str, list[int]]:
    """The live processes (zombies excluded) carrying :data:`MARKER` for each of
    ``session_ids``, read from ``/proc``; empty lists where there is no ``/proc``."""
    return _scan((), session_ids)[1]


def _scan(
    pgids: Iterable[int], session_ids: Iterable[str]
) -> tuple[dict[int, list[int]], dict[str, list[int]]]:
    """One pass over ``/proc``: the live members of each group in ``pgids``, and the live
    processes carrying the marker of each of ``session_ids`` (zombies excluded)."""
    return _scan_tree(pgids, session_ids)[:2]


def _scan_tree(
    pgids: Iterable[int], session_ids: Iterable[str] | None
) -> tuple[dict[int, list[int]], dict[str, list[int]], dict[int, list[int]]]:
    """:func:`_scan`, with the live children of every process (by parent pid) too. With
    ``session_ids`` None, every marker found is reported."""
    groups: dict[int, list[int]] = {pgid: [] for pgid in pgids}
    every = session_ids is None
    sessions: dict[str, list[int]] = {sid: [] for sid in session_ids or ()}
    children: dict[int, list[int]] = {}
    prefix = f"{MARKER}=".encode()
    me = os.getpid()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return groups, sessions, children
    for entry in entries:
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        stat = _stat(pid)
        if not stat or len(stat) < 3 or stat[0] == "Z":
            continue
        with contextlib.suppress(ValueError):
            children.setdefault(int(stat[1]), []).append(pid)
        with contextlib.suppress(ValueError, KeyError):
            groups[int(stat[2])].append(pid)
        if not sessions and not every:
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                environ = handle.read()
        except OSError:  # gone, or not ours to read
            continue
        if prefix not in environ:
            continue
        for variable in environ.split(b"\0"):
            if variable.startswith(prefix):
                session_id = variable[len(prefix) :].decode("ascii", "replace")
                if session_id in sessions or every:
                    sessions.setdefault(session_id, []).append(pid)
                break  # the first definition is the one the process sees
    return groups, sessions, children


def all_marked() -> dict[str, list[int]]:
    """Every session whose marker a live process of this user carries, with those processes
    (empty where there is no ``/proc``): what runs, when the records cannot be read."""
    return _scan_tree((), None)[1]


def _descendants(pids: Iterable[int], children: Mapping[int, list[int]]) -> set[int]:
    """``pids`` and every live process below them."""
    found: set[int] = set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def adopt(pids: Iterable[int]) -> Started | None:
    """The process group of a replica found by its marker: its wrapper's (the session leader
    among ``pids``), else the group of any of them."""
    groups = []
    for pid in pids:
        stat = _stat(pid)
        if stat is None or len(stat) < 4:
            continue
        pgrp, sid = int(stat[2]), int(stat[3])
        if pid == pgrp == sid:
            return Started(pgid=pid, start_mark=start_mark(pid))
        groups.append(pgrp)
    if not groups:
        return None
    return Started(pgid=groups[0], start_mark=start_mark(groups[0]))


def stop(
    sessions: Mapping[str, tuple[int | None, str | None]], grace: float
) -> dict[str, list[int]]:
    """End every process of each session: its process group and every process that carries
    its marker. SIGTERM first, SIGKILL to what is left after ``grace`` seconds.

    ``sessions`` maps a session id to its recorded ``(pgid, start mark)``. Returns, by session,
    the pids still alive at the end (permission denied, or alive after SIGKILL): empty when
    all were stopped. A group is reported by its id where its members cannot be listed.
    """
    groups = {
        sid: pgid
        for sid, (pgid, mark) in sessions.items()
        if pgid is not None and not _reused(pgid, mark)
    }
    listed = os.path.isdir("/proc/self")

    #: Every process seen as a session's, with its start mark: one whose parents have died
    #: meanwhile (so no longer below them) is still this session's.
    seen: dict[str, dict[int, str | None]] = {sid: {} for sid in sessions}

    def remaining() -> dict[str, set[int]]:
        members, carriers, children = _scan_tree(groups.values(), sessions)
        left = {sid: set(pids) for sid, pids in carriers.items()}
        for sid, pgid in groups.items():
            if listed:
                left[sid].update(members[pgid])
            elif group_alive(pgid, None):
                left[sid].add(pgid)  # its members cannot be listed here: named by the group
        for sid, pids in left.items():
            # Children that left the group and cleared their environment (setsid env -i)
            # are still below a process of the session.
            pids.update(_descendants(pids, children) - {os.getpid()})
            for pid, mark in seen[sid].items():
                if pid not in pids and alive(pid, mark):
                    pids.add(pid)
            for pid in pids:
                seen[sid].setdefault(pid, start_mark(pid))
        return {sid: pids for sid, pids in left.items() if pids}

    def send(signum: int, left: dict[str, set[int]]) -> None:
        for sid in left:
            if sid in groups:
                _signal(groups[sid], signum)
            for pid in left[sid]:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signum)

    left = remaining()
    if left:
        send(signal.SIGTERM, left)
        left = _wait_for_none(remaining, grace)
    for wait in (1.0, 0.2, 0.2):  # children forked while being killed: caught on a next pass
        if not left:
            break
        send(signal.SIGKILL, left)
        left = _wait_for_none(remaining, wait)
    return {sid: sorted(left.get(sid, ())) for sid in sessions}


def _wait_for_none(
    remaining: Callable[[], dict[str, set[int]]], timeout: float
) -> dict[str, set[int]]:
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        left = remaining()
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
