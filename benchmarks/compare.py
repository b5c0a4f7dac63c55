#!/usr/bin/env python3
"""canfar side by side with the public client (canfar 1.5.2 from PyPI), in one run.

Each client is measured in its own virtual environment, as users install it: ours is a regular
(not editable) install of this working tree, rebuilt on every run; the public client is
``pip install canfar==1.5.2``. Every command is a fresh process timed from the outside (wall
clock, after one warm-up run, the commands taking turns so that the machine's load falls on all
alike), and its peak memory is read with ``/usr/bin/time``; the table shows medians and the
ratios, the targets and whether they are met.

Run from the project root::

    python benchmarks/compare.py --peer-venv PATH     # PATH: a venv with canfar 1.5.2
    python benchmarks/compare.py                      # creates both venvs in a cache folder
    python benchmarks/compare.py --quick --only startup

Sections (``--only``, repeatable): ``startup`` (``--help``, ``version``, ``ps`` on an empty
local backend, importing ``canfar.helpers.distributed``, each against ``python -c pass``),
``distribution`` (``chunk`` and ``stripe`` over 1 M and 10 M paths, from a list and from a
generator), ``launch`` (100 local replicas; ours only: the public client has no local
backend) and ``ps`` (5,000 sessions from the fake Skaha server, both clients).

Only the standard library is used, and this file doubles as the worker that runs inside each
client's interpreter (``--worker``), so it must stay importable by Python 3.10 alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing in the worker
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
PEER_VERSION = "1.5.2"
MIB = 1024 * 1024
SECTIONS = ("startup", "distribution", "launch", "ps", "local-ps", "replicas")
DISTRIBUTED = "canfar.helpers.distributed"
#: What is not source: left out of the copy of the tree that is installed.
_NOT_SOURCE = (".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".*cache")
#: Variables that would make a measured process differ from a user's (or leak this tree in).
_SCRUBBED_PREFIXES = ("CANFAR_", "PYTHON", "REPLICA_", "VIRTUAL_ENV", "XDG_")


# -- measuring one process ---------------------------------------------------------------------


@dataclass
class Command:
    """A command line and the environment it runs in.

    It runs in its own empty ``HOME``, never in the project root: there ``python -c`` would
    import this tree's ``./canfar`` instead of the installed package it is meant to measure.
    """

    argv: list[str]
    env: dict[str, str]

    @property
    def cwd(self) -> str:
        return self.env["HOME"]


def run_once(cmd: Command) -> float:
    """Run ``cmd`` once with its output discarded; its wall time in seconds.

    A command that fails raises ``RuntimeError`` with the end of its stderr: a figure for a
    command that did not do its job would be meaningless.
    """
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        # No timeout: with one, subprocess polls for the exit with growing sleeps, which
        # adds up to several milliseconds to every figure.
        proc = subprocess.run(
            cmd.argv, stdout=subprocess.DEVNULL, stderr=err, env=cmd.env, cwd=cmd.cwd
        )
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"{' '.join(cmd.argv)} exited {proc.returncode}: {' | '.join(tail)}")
    return seconds


def peak_rss(cmd: Command) -> int | None:
    """The peak resident memory of one run of ``cmd``, in bytes.

    Read from ``/usr/bin/time``: the kernel counts, in a child's peak, the memory of the process
    that started it (the peak of the address space it replaced at ``exec``), so a child started
    from this Python process could never show less than this process uses. ``time`` is a small
    C program, so what it reports is the command's own peak. Without it, the figure is
    ``os.wait4``'s, an upper bound.
    """
    gnu = sys.platform.startswith("linux")
    if os.path.exists("/usr/bin/time"):
        flags = ["-f", "%M"] if gnu else ["-l"]
        proc = subprocess.run(
            ["/usr/bin/time", *flags, *cmd.argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=cmd.env,
            cwd=cmd.cwd,
        )
        lines = proc.stderr.strip().splitlines()
        if gnu and lines and lines[-1].strip().isdigit():
            return int(lines[-1]) * 1024
        for line in lines:  # BSD: "  12345678  maximum resident set size" (bytes)
            if "maximum resident set size" in line:
                return int(line.split()[0])
    if hasattr(os, "wait4"):
        proc2 = subprocess.Popen(
            cmd.argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=cmd.env, cwd=cmd.cwd
        )
        _, status, usage = os.wait4(proc2.pid, 0)
        proc2.returncode = os.waitstatus_to_exitcode(status)
        return _maxrss_bytes(usage.ru_maxrss)
    return None  # pragma: no cover - Windows


def _maxrss_bytes(ru_maxrss: int) -> int:
    # Linux reports KiB, macOS bytes.
    return ru_maxrss if sys.platform == "darwin" else ru_maxrss * 1024


@dataclass
class Stat:
    """The median wall time of several runs and the median peak memory of a few."""

    seconds: float
    rss: int | None
    samples: list[float] = field(default_factory=list)


def measure(commands: dict[str, Command], runs: int, rss_runs: int = 3) -> dict[str, Stat | str]:
    """Time every command ``runs`` times, taking turns (one run of each, then again), so that
    a change in the machine's load falls on all of them alike; one warm-up run of each first.

    Returns each command's :class:`Stat`, or the error message of a command that failed.
    """
    results: dict[str, Stat | str] = {}
    times: dict[str, list[float]] = {}
    for key, cmd in commands.items():
        try:
            run_once(cmd)
            times[key] = []
        except (RuntimeError, OSError) as exc:
            results[key] = str(exc)
    for _ in range(runs):
        for key in times:
            times[key].append(run_once(commands[key]))
    for key, samples in times.items():
        rss = [r for r in (peak_rss(commands[key]) for _ in range(rss_runs)) if r is not None]
        results[key] = Stat(
            seconds=statistics.median(samples),
            rss=int(statistics.median(rss)) if rss else None,
            samples=[round(t, 6) for t in samples],
        )
    return results


# -- the two installations -----------------------------------------------------------------------


def venv_bin(venv: Path, name: str) -> Path:
    """A program of ``venv`` (``bin/`` on POSIX, ``Scripts/`` on Windows)."""
    folder = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return venv / folder / f"{name}{suffix}"


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "canfar-benchmarks"


def _pip(venv: Path, *args: str) -> None:
    subprocess.run(
        [
            str(venv_bin(venv, "python")),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *args,
        ],
        check=True,
    )


def ensure_peer(venv: Path | None) -> Path:
    """The public client's venv: the one given, else one made in the cache folder."""
    if venv is None:
        venv = cache_root() / f"peer-canfar-{PEER_VERSION}"
        if not venv_bin(venv, "canfar").exists():
            print(f"# installing canfar=={PEER_VERSION} into {venv}", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            _pip(venv, f"canfar=={PEER_VERSION}")
    if not venv_bin(venv, "canfar").exists():
        raise SystemExit(f"error: --peer-venv {venv}: no canfar program in it")
    return venv


def ensure_ours(venv: Path | None) -> Path:
    """Our venv: the one given as is, else this working tree installed (not editable) into a
    venv in the cache folder. An editable install adds an import hook to every start of
    Python (about 10 ms here), which users never have, so it is not what we measure.

    The tree is copied first, without build products, so that the build neither packages a
    stale ``build/`` folder nor leaves one in the working tree."""
    if venv is not None:
        if not venv_bin(venv, "canfar").exists():
            raise SystemExit(f"error: --ours-venv {venv}: no canfar program in it")
        return venv
    import shutil

    venv = cache_root() / "ours"
    source = cache_root() / "ours-source"
    print(f"# installing this working tree into {venv} (not editable)", file=sys.stderr)
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*_NOT_SOURCE))
    if not venv_bin(venv, "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        _pip(venv, str(source))
    else:  # the dependencies are there: reinstall only the project, from the current tree
        _pip(venv, "--no-deps", "--force-reinstall", str(source))
        check = subprocess.run(
            [str(venv_bin(venv, "python")), "-m", "pip", "check"], capture_output=True
        )
        if check.returncode != 0:
            _pip(venv, str(source))
    return venv


def check_imports_from(venv: Path, modules: tuple[str, ...], env: dict[str, str]) -> None:
    """Stop unless ``modules`` import, in ``venv``'s interpreter run as the measured commands
    run (same environment and folder), from that venv: a figure taken of another copy (this
    tree's ``./canfar``, a package of the user's site folder) would be a figure of nothing."""
    script = "import importlib, sys\nfor name in sys.argv[1:]:\n"
    script += "    print(importlib.import_module(name).__file__)\n"
    done = subprocess.run(
        [str(venv_bin(venv, "python")), "-c", script, *modules],
        capture_output=True,
        text=True,
        env=env,
        cwd=env["HOME"],
    )
    if done.returncode != 0:
        raise SystemExit(f"error: {venv}: cannot import {', '.join(modules)}: {done.stderr}")
    root = venv.resolve()
    for module, file in zip(modules, done.stdout.split("\n"), strict=False):
        if not Path(file).resolve().is_relative_to(root):
            raise SystemExit(f"error: {module} imports from {file}, outside the venv {venv}")


def python_version(venv: Path) -> str:
    out = subprocess.run(
        [str(venv_bin(venv, "python")), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a measured command: this one, minus every variable that could change
    what it does, with its own empty HOME and XDG folders (the public client keeps its
    configuration under HOME, ours under the XDG folders)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}
    for sub in ("config", "state", "data", "cache"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CACHE_HOME=str(home / "cache"),
        NO_COLOR="1",
        COLUMNS="100",
    )
    env.update(extra)
    return env


# -- figures and the table -------------------------------------------------------------------


@dataclass
class Figure:
    """One row of the table. ``unit`` is ``s`` (wall time) or ``MiB`` (memory)."""

    case: str
    unit: str
    ours: float | None = None
    peer: float | None = None
    ours_rss: int | None = None
    peer_rss: int | None = None
    bare: float | None = None  # what ours is compared with besides the peer: see ref_name
    ref_name: str = "bare"  # our interpreter's ``python -c pass``, unless another is named
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.peer:
            return None
        if self.unit == "MiB" and max(self.ours, self.peer) < 0.1:
            return None  # a few KiB either way: a ratio would only show noise
        return self.ours / self.peer

    @property
    def times_bare(self) -> float | None:
        if self.ours is None or not self.bare:
            return None
        return self.ours / self.bare


def _value(value: float | None, unit: str, rss: int | None = None) -> str:
    if value is None:
        return "n/a"
    if unit == "s":
        ms = value * 1000
        text = f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms" if value < 10 else f"{value:.1f} s"
    else:
        text = f"{value:.1f} {unit}"
    if rss is not None:
        text += f", {rss / MIB:.0f} MiB"
    return text


def render(figures: list[Figure], markdown: bool = False) -> str:
    """The figures as an aligned text table (or a Markdown one), then the notes."""
    head = ["case", "ours", "peer 1.5.2", "ours/peer", "ours/ref", "target", "result"]
    rows = []
    for f in figures:
        rows.append(
            [
                f.case,
                _value(f.ours, f.unit, f.ours_rss),
                _value(f.peer, f.unit, f.peer_rss),
                f"{f.ratio:.2f}" if f.ratio is not None else "",
                f"{f.times_bare:.2f}x {f.ref_name}" if f.times_bare is not None else "",
                f.target,
                {True: "met", False: "MISSED", None: ""}[f.met],
            ]
        )
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in [head, *rows]
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"- {f.case}: {f.note}" for f in figures if f.note]
    return "\n".join(lines + (["", *notes] if notes else []))


# -- section: start-up ---------------------------------------------------------------------------


def _fake_skaha() -> object | None:
    """A started fake Skaha server (the project's test fake), or None if it is not there."""
    sys.path.insert(0, str(ROOT))
    try:
        from tests.fakeskaha import FakeSkaha
    except ImportError:
        return None
    finally:
        sys.path.remove(str(ROOT))
    return FakeSkaha().start()


def peer_home(home: Path, url: str, token: str) -> Path:
    """A HOME in which the public client talks to ``url`` with bearer ``token``.

    The public client reads only ``~/.canfar/config.yaml``: a saved OIDC credential whose access
    token has not expired is sent as a bearer token, with no refresh and no discovery.
    """
    (home / ".canfar").mkdir(parents=True, exist_ok=True)
    (home / ".canfar" / "config.yaml").write_text(
        "version: 2\n"
        "active: {authentication: bench, server: bench}\n"
        "authentication:\n"
        f"  bench: {{idp: bench, mode: oidc, token: {{access: {token}}},"
        " expiry: {access: 4102444800}}\n"
        "servers:\n"
        f"  bench: {{idp: bench, url: '{url}', version: v1, auths: [oidc]}}\n"
    )
    return home


def _fill(fig: Figure, side: str, result: Stat | str | None) -> None:
    if isinstance(result, Stat):
        setattr(fig, side, result.seconds)
        setattr(fig, f"{side}_rss", result.rss)
    elif result is not None:
        fig.note += f"{side} failed: {result}. "


NO_CACHE_HELP = "canfar --help, help not cached"


def _cache_dir(env: dict[str, str], darwin: bool = False) -> Path:
    """Where canfar keeps its cache under ``env`` (the XDG rule, or macOS's)."""
    if darwin:
        return Path(env["HOME"]) / "Library" / "Caches" / "canfar"
    return Path(env["XDG_CACHE_HOME"]) / "canfar"


def startup(ours: Path, peer: Path, runs: int, work: Path) -> list[Figure]:
    """Whole-process start-up: the commands people type most, and the batch-job import."""
    ours_py, peer_py = str(venv_bin(ours, "python")), str(venv_bin(peer, "python"))
    ours_cli, peer_cli = str(venv_bin(ours, "canfar")), str(venv_bin(peer, "canfar"))
    env = isolated_env(work / "startup")
    local_env = isolated_env(work / "startup-ps", CANFAR_BACKEND="local")
    uncached_env = isolated_env(work / "startup-uncached")
    for blocked in (_cache_dir(uncached_env), _cache_dir(uncached_env, darwin=True)):
        blocked.parent.mkdir(parents=True, exist_ok=True)
        blocked.write_text("a file where the cache folder would be: nothing can be cached\n")
    cases: dict[str, tuple[list[str], list[str] | None]] = {
        "python -c pass": ([ours_py, "-c", "pass"], [peer_py, "-c", "pass"]),
        "canfar --help": ([ours_cli, "--help"], [peer_cli, "--help"]),
        NO_CACHE_HELP: ([ours_cli, "--help"], None),  # the peer's figure is the row above
        "canfar version": ([ours_cli, "version"], [peer_cli, "version"]),
        "canfar ps (none to show)": ([ours_cli, "ps"], None),
        f"import {DISTRIBUTED}": (
            [ours_py, "-c", f"import {DISTRIBUTED}"],
            [peer_py, "-c", f"import {DISTRIBUTED}"],
        ),
    }
    commands = {}
    for name, (ours_argv, peer_argv) in cases.items():
        side_env = {"canfar ps (none to show)": local_env, NO_CACHE_HELP: uncached_env}
        commands[f"ours {name}"] = Command(ours_argv, side_env.get(name, env))
        if peer_argv is not None:
            commands[f"peer {name}"] = Command(peer_argv, side_env.get(name, env))
    # ps with nothing to show. Ours: the local backend (the default with no login). The public
    # client has no local backend: its nearest equal is an empty list from a Skaha server.
    server = _fake_skaha()
    if server is not None:
        peer_env = isolated_env(work / "startup-peer-ps")
        peer_home(Path(peer_env["HOME"]), server.url, server.token)  # type: ignore[attr-defined]
        commands["peer canfar ps (none to show)"] = Command([peer_cli, "ps"], peer_env)
    try:
        results = measure(commands, runs)
    finally:
        if server is not None:
            server.stop()  # type: ignore[attr-defined]

    figures = []
    for name in cases:
        fig = Figure(name, "s")
        _fill(fig, "ours", results.get(f"ours {name}"))
        _fill(fig, "peer", results.get(f"peer {name}"))
        figures.append(fig)
    bare_fig, help_fig, uncached_fig, _, ps_fig, import_fig = figures
    bare = bare_fig.ours
    for fig in figures:
        fig.bare = bare
    bare_fig.note += "the bare interpreter of each venv; ours/ref x bare divides by ours."
    help_fig.note += (
        "as users run it: from the second run on, ours prints the help it cached on the first."
    )
    uncached_fig.note += (
        "the first run after an install or upgrade: ours cannot cache its help here, so it "
        "imports click and every plugin to build it (the public client has no such cache)."
    )
    uncached_fig.peer, uncached_fig.peer_rss = help_fig.peer, help_fig.peer_rss
    for fig in (help_fig, uncached_fig):
        fig.target = "<= 0.25x peer, <= 4x bare"
        if fig.ours is not None and fig.peer is not None and bare:
            fig.met = fig.ours <= 0.25 * fig.peer and fig.ours <= 4 * bare
    ps_fig.note += (
        "ours: an empty local backend (isolated XDG folders); peer, which has no local "
        "backend: an empty list from the fake Skaha server on loopback."
        if server is not None
        else "peer: not measured (tests/fakeskaha is not there)."
    )
    import_fig.target = "<= 2x bare"
    if import_fig.ours is not None and bare:
        import_fig.met = import_fig.ours <= 2 * bare
    return figures


# -- section: work distribution ----------------------------------------------------------------


def _worker_distribution(size: int, source: str, strategy: str, replica: int, count: int) -> None:
    """Runs inside the measured interpreter: one case of ``benchmarks/distribution.py``.

    That script owns how a share is measured (time to take and consume it; peak memory
    allocated above the input, by ``tracemalloc``); this runs its ``run_case`` against whichever
    ``canfar`` the interpreter has. The public client names the replica count ``total``, not
    ``count``, so its two functions are called through a thin adapter.
    """
    import inspect

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import distribution as bench  # benchmarks/distribution.py

    from canfar.helpers import distributed

    for name in ("chunk", "stripe"):
        function = getattr(distributed, name)
        if "total" in inspect.signature(function).parameters:
            setattr(distributed, name, _adapt(function))
    print(json.dumps(bench.run_case(size, source, strategy, replica, count)))


def _adapt(function: Callable[..., Iterator[object]]) -> Callable[..., Iterator[object]]:
    def adapted(items: object, replica: int, count: int) -> Iterator[object]:
        return function(items, replica, count)

    return adapted


def _run_worker(
    python: str, args: list[str], runs: int, env: dict[str, str]
) -> list[dict[str, float]]:
    out = []
    for _ in range(runs):
        proc = subprocess.run(
            [python, __file__, "--worker", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=env["HOME"],
        )
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
            raise RuntimeError(tail[0])
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def _label(size: int) -> str:
    return f"{size // 1_000_000} M" if size % 1_000_000 == 0 else f"{size:,}"


def distribution(
    ours: Path, peer: Path, runs: int, sizes: list[int], count: int, work: Path
) -> list[Figure]:
    """``chunk`` and ``stripe``, ours and the public client's, on the last replica of ``count``.

    Both count replicas from 1 (the platform's ``REPLICA_ID``) and take ``(items, replica,
    count)`` in that order, so the same call runs both. The last replica is measured: every
    item before its share has to be passed over to reach it.
    """
    pointer = 8 if sys.maxsize > 2**32 else 4
    env = isolated_env(work / "distribution")
    figures = []
    for size in sizes:
        for source in ("list", "generator"):
            for strategy in ("chunk", "stripe"):
                name = f"{strategy}, {_label(size)} paths, {source}"
                results: dict[str, list[dict[str, float]]] = {}
                errors = []
                for side, venv in (("ours", ours), ("peer", peer)):
                    try:
                        results[side] = _run_worker(
                            str(venv_bin(venv, "python")),
                            ["distribution", str(size), source, strategy, str(count), str(count)],
                            runs,
                            env,
                        )
                    except RuntimeError as exc:
                        errors.append(f"{side} failed: {exc}")
                time_fig = Figure(f"{name}: time", "s", note="; ".join(errors))
                mem_fig = Figure(f"{name}: added memory", "MiB")
                for side, got in results.items():
                    setattr(time_fig, side, statistics.median(r["seconds"] for r in got))
                    setattr(mem_fig, side, statistics.median(r["peak_bytes"] for r in got) / MIB)
                if source == "list" and strategy == "chunk" and size >= 10_000_000:
                    share = -(-size // count) * pointer
                    mem_fig.target = f"<= its share ({share / MIB:.1f} MiB)"
                    if mem_fig.ours is not None:
                        mem_fig.met = mem_fig.ours * MIB <= share
                figures += [time_fig, mem_fig]
    return figures


# -- section: launching local replicas ---------------------------------------------------------


def launch(ours: Path, runs: int, replicas: int, work: Path) -> list[Figure]:
    """Launching ``replicas`` replicas of ``true`` on the local backend (ours only).

    ``benchmarks/local_launch.py`` owns how a launch is measured (through the Python API and
    through the whole ``canfar create`` command); it is run here with our venv's interpreter
    and its medians are copied into the table. Without it, ``canfar create`` is timed here.
    """
    note = "ours only: the public client has no local backend."
    script = ROOT / "benchmarks" / "local_launch.py"
    if not script.exists():
        fig = Figure(f"canfar create, {replicas} local replicas", "s", note=note)
        env = isolated_env(work / "launch", CANFAR_BACKEND="local")
        argv = [str(venv_bin(ours, "canfar")), "create", "headless", "skaha/astroml:latest"]
        argv += ["-q", "--replicas", str(replicas), "--runtime", "host", "--", "true"]
        _fill(fig, "ours", measure({"ours": Command(argv, env)}, runs)["ours"])
        return [fig]
    argv = [str(venv_bin(ours, "python")), str(script), "--replicas", str(replicas)]
    proc = subprocess.run(
        [*argv, "--runs", str(runs)],
        capture_output=True,
        text=True,
        env=isolated_env(work / "local-launch"),
        cwd=ROOT,
    )
    figures = []
    for line in proc.stdout.splitlines():  # "LABEL: median 123 ms (min ..., max ..., K runs)"
        label, sep, rest = line.partition(": median ")
        if sep and rest.split()[1:2] == ["ms"]:
            figures.append(
                Figure(
                    f"{label}, {replicas} local replicas", "s", ours=float(rest.split()[0]) / 1000
                )
            )
    if proc.returncode != 0 or not figures:
        tail = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        figures = [Figure(f"launch {replicas} local replicas", "s")]
        note += f" {script.name} failed: {tail[0]}"
    figures[-1].note = note
    return figures


# -- section: ps of many sessions ----------------------------------------------------------------


def ps_many(ours: Path, peer: Path, runs: int, sessions: int, work: Path) -> list[Figure]:
    """``canfar ps`` listing ``sessions`` running sessions served by the fake Skaha server.

    Ours reaches it through ``CANFAR_URL``/``CANFAR_TOKEN``; the public client through its
    configuration file (see :func:`peer_home`). Both print their full table.
    """
    fig = Figure(f"canfar ps, {sessions:,} sessions (fake Skaha)", "s")
    server = _fake_skaha()
    if server is None:
        fig.note = "not measured: tests/fakeskaha is not there."
        return [fig]
    try:
        for i in range(sessions):
            server.add_session(name=f"job-{i}")  # type: ignore[attr-defined]
        url, token = server.url, server.token  # type: ignore[attr-defined]
        commands = {
            "ours": Command(
                [str(venv_bin(ours, "canfar")), "ps"],
                isolated_env(work / "ps-ours", CANFAR_URL=url, CANFAR_TOKEN=token),
            ),
            "peer": Command([str(venv_bin(peer, "canfar")), "ps"], isolated_env(work / "ps-peer")),
        }
        peer_home(Path(commands["peer"].env["HOME"]), url, token)
        for side, cmd in commands.items():
            try:
                shown = _rows_shown(cmd, server)
            except RuntimeError:
                continue  # measure() reports the failure
            if shown != sessions:
                fig.note += f"{side} showed {shown} of {sessions} sessions. "
        results = measure(commands, runs)
        for side in commands:
            _fill(fig, side, results[side])
    finally:
        server.stop()  # type: ignore[attr-defined]
    return [fig]


def _rows_shown(cmd: Command, server: object) -> int:
    """How many of the server's sessions ``cmd`` printed (a row holds the session id)."""
    out = subprocess.run(cmd.argv, env=cmd.env, capture_output=True, text=True, cwd=cmd.cwd)
    if out.returncode != 0:
        raise RuntimeError(f"exit {out.returncode}")
    ids = set(server.sessions)  # type: ignore[attr-defined]
    return sum(1 for line in out.stdout.splitlines() if ids.intersection(line.split()))


# -- section: local ps with many finished sessions -----------------------------------------------


def _worker_populate(count: int) -> None:
    """Runs in our interpreter: ``count`` finished sessions in the local backend's database of
    this environment (``XDG_STATE_HOME``), written through the backend's own store."""
    import time as clock

    from canfar_core.config import state_dir
    from canfar_plugins.local.state import Record, Store, new_id

    ended = clock.time() - 3600
    records = [
        Record(
            id=new_id(),
            name=f"job-{n}",
            kind="headless",
            image="images.canfar.net/skaha/astroml:latest",
            status="Completed" if n % 10 else "Failed",
            replica=n % 100 + 1,
            replicas=100,
            command=["python", "reduce.py", f"--part={n}"],
            workdir=str(Path.home()),
            runtime="host",
            cores=1.0,
            created=ended - 60 + n / 1000,
            started=ended - 59 + n / 1000,
            ended=ended + n / 1000,
            exit_code=0 if n % 10 else 1,
            reason="exit code 0" if n % 10 else "exit code 1",
        )
        for n in range(count)
    ]
    store = Store(state_dir() / "local")
    store.insert(records)
    store.close()


def local_ps(ours: Path, peer: Path, runs: int, sizes: list[int], work: Path) -> list[Figure]:
    """``canfar ps`` and ``ps --all`` on the local backend holding ``sizes`` finished sessions.

    ``ps`` shows none of them: its cost must not follow them (target: within 1.3 times ``ps``
    at 0). ``ps --all`` shows them all: its cost grows with them, by a small constant per
    session. The public client has no local backend: its ``ps`` of an empty fake Skaha server
    stands beside ours, as in the start-up section.
    """
    ours_cli = str(venv_bin(ours, "canfar"))
    commands: dict[str, Command] = {}
    for size in sizes:
        env = isolated_env(work / f"local-ps-{size}", CANFAR_BACKEND="local")
        if size:
            done = subprocess.run(
                [str(venv_bin(ours, "python")), __file__, "--worker", "populate", str(size)],
                capture_output=True,
                text=True,
                env=env,
                cwd=env["HOME"],
            )
            if done.returncode != 0:
                raise SystemExit(f"error: could not write {size} local sessions: {done.stderr}")
        listed = subprocess.run(
            [ours_cli, "ps", "--all", "-q"],
            capture_output=True,
            text=True,
            env=env,
            cwd=env["HOME"],
        )
        if len(listed.stdout.split()) != size:
            raise SystemExit(f"error: ps --all showed {len(listed.stdout.split())} of {size}")
        commands[f"ps {size}"] = Command([ours_cli, "ps"], env)
        commands[f"all {size}"] = Command([ours_cli, "ps", "--all"], env)
    server = _fake_skaha()
    if server is not None:
        peer_env = isolated_env(work / "local-ps-peer")
        peer_home(Path(peer_env["HOME"]), server.url, server.token)  # type: ignore[attr-defined]
        commands["peer"] = Command([str(venv_bin(peer, "canfar")), "ps"], peer_env)
    try:
        results = measure(commands, runs)
    finally:
        if server is not None:
            server.stop()  # type: ignore[attr-defined]
    base = results.get(f"ps {sizes[0]}")
    figures = []
    for size in sizes:
        shown = Figure(f"canfar ps, {size:,} finished local sessions (none shown)", "s")
        _fill(shown, "ours", results.get(f"ps {size}"))
        _fill(shown, "peer", results.get("peer"))
        every = Figure(f"canfar ps --all, {size:,} finished local sessions", "s")
        _fill(every, "ours", results.get(f"all {size}"))
        for fig in (shown, every):
            if isinstance(base, Stat):
                fig.bare, fig.ref_name = base.seconds, f"ps@{sizes[0]}"
        if size and shown.ours is not None and shown.bare:
            shown.target = f"<= 1.3x ps@{sizes[0]}"
            shown.met = shown.ours <= 1.3 * shown.bare
        figures += [shown, every]
    figures[0].note = (
        "peer: it has no local backend; its ps of an empty fake Skaha server is shown beside "
        "every row."
    )
    first, last = results.get(f"all {sizes[0]}"), results.get(f"all {sizes[-1]}")
    if isinstance(first, Stat) and isinstance(last, Stat) and sizes[-1] > sizes[0]:
        per = (last.seconds - first.seconds) / (sizes[-1] - sizes[0]) * 1000
        figures[-1].note = f"{per * 1000:.0f} ms per 1,000 sessions listed above ps --all at 0."
    return figures


# -- section: launching replicas on the platform, with latency -------------------------------------

#: An image the fake Skaha server accepts.
LAUNCH_IMAGE = "images.canfar.net/skaha/astroml:latest"


def _worker_launch(replicas: int, concurrency: str) -> None:
    """Runs inside the measured interpreter: one launch of ``replicas`` headless replicas, timed
    from the call to the ids (the interpreter's start-up and imports left out).

    Ours reaches the fake server through ``CANFAR_URL``/``CANFAR_TOKEN``; the public client
    through its configuration file, with its ``AsyncSession`` (the one that launches replicas
    concurrently). ``concurrency`` is a number, or ``default`` for each client's own.
    """
    import asyncio
    import importlib.util

    limit = None if concurrency == "default" else int(concurrency)
    if importlib.util.find_spec("canfar_core") is not None:
        from canfar.sessions import Session
        from canfar_core.errors import LaunchError

        with Session(concurrency=limit) as session:
            start = time.perf_counter()
            try:
                ids = session.create(
                    name="bench", image=LAUNCH_IMAGE, kind="headless", cmd="true", replicas=replicas
                )
            except LaunchError as exc:  # say why, once per reason
                failed = {**exc.failures, **getattr(exc, "uncertain", {})}
                reasons = sorted({str(why) for why in failed.values()})
                raise SystemExit(f"{exc}: {' | '.join(reasons)}") from None
            seconds = time.perf_counter() - start
    else:
        from canfar.sessions import AsyncSession  # type: ignore[attr-defined]

        async def launch() -> tuple[float, list[str]]:
            options = {} if limit is None else {"concurrency": limit}
            async with AsyncSession(**options) as session:
                start = time.perf_counter()
                ids = await session.create(
                    name="bench",
                    image=LAUNCH_IMAGE,
                    kind="headless",
                    cmd="true",
                    replicas=replicas,
                    errors="raise",
                )
                return time.perf_counter() - start, ids

        seconds, ids = asyncio.run(launch())
    print(json.dumps({"seconds": seconds, "ids": len(ids)}))


def _current_default(ours: Path) -> int | None:
    """Our launch concurrency when none is chosen, read from our installation."""
    done = subprocess.run(
        [str(venv_bin(ours, "python")), "-c", _DEFAULT_CONCURRENCY],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    return int(done.stdout) if done.returncode == 0 and done.stdout.strip().isdigit() else None


_DEFAULT_CONCURRENCY = """
from canfar_plugins.skaha.client import MAX_CONCURRENCY
print(MAX_CONCURRENCY)
"""


def replicas_launch(
    ours: Path,
    peer: Path,
    runs: int,
    counts: list[int],
    latencies: list[float],
    limits: list[int],
    work: Path,
) -> list[Figure]:
    """Launching ``counts`` headless replicas on the fake Skaha server answering each create
    after ``latencies`` seconds, with each of ``limits`` requests in flight, ours and the public
    client's ``AsyncSession`` side by side at the same limit (both take ``concurrency``), plus
    the public client at its own default.

    The runs of ours and the public client's take turns; the server forgets its sessions
    between runs. A run in which a replica failed is reported, not timed.
    """
    server = _fake_skaha()
    if server is None:
        return [Figure("launching replicas", "s", note="not measured: no tests/fakeskaha.")]
    default = _current_default(ours)
    ours_env = isolated_env(work / "launch-ours", CANFAR_URL=server.url, CANFAR_TOKEN=server.token)  # type: ignore[attr-defined]
    peer_env = isolated_env(work / "launch-peer")
    peer_home(Path(peer_env["HOME"]), server.url, server.token)  # type: ignore[attr-defined]
    sides = {"ours": (str(venv_bin(ours, "python")), ours_env)}
    sides["peer"] = (str(venv_bin(peer, "python")), peer_env)
    figures = []
    try:
        for latency in latencies:
            server.clear_faults()  # type: ignore[attr-defined]
            server.inject("POST", r"/session$", delay=latency, times=None)  # type: ignore[attr-defined]
            for count in counts:
                for limit in [*limits, "default"]:
                    label = "the public client's default (32)" if limit == "default" else limit
                    fig = Figure(
                        f"launch {count} replicas, {latency * 1000:g} ms per create, "
                        f"concurrency {label}",
                        "s",
                    )
                    if limit == default:
                        fig.case += " (ours: default)"
                    times: dict[str, list[float]] = {"ours": [], "peer": []}
                    failed: dict[str, str] = {}
                    for _ in range(runs):
                        for side, (python, env) in sides.items():
                            if side == "ours" and limit == "default":
                                continue
                            with server._lock:  # type: ignore[attr-defined]
                                server.sessions.clear()  # type: ignore[attr-defined]
                            try:
                                got = _run_worker(
                                    python, ["launch", str(count), str(limit)], 1, env
                                )
                            except RuntimeError as exc:
                                failed[side] = str(exc)
                                continue
                            if got[0]["ids"] != count:
                                failed[side] = f"{got[0]['ids']} of {count} launched"
                                continue
                            times[side].append(got[0]["seconds"])
                    for side, samples in times.items():
                        if samples:
                            setattr(fig, side, statistics.median(samples))
                    fig.note = "; ".join(
                        f"{side} failed in a run: {why}" for side, why in failed.items()
                    )
                    figures.append(fig)
    finally:
        server.stop()  # type: ignore[attr-defined]
    return figures


# -- main ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--peer-venv", type=Path, help="venv with canfar 1.5.2 (default: made in the cache folder)"
    )
    parser.add_argument(
        "--ours-venv",
        type=Path,
        help="venv with this project (default: this "
        "tree installed, not editable, into the cache folder)",
    )
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only this section")
    parser.add_argument("--runs", type=int, default=15, help="runs per start-up figure")
    parser.add_argument(
        "--heavy-runs", type=int, default=3, help="runs per distribution, launch and ps figure"
    )
    parser.add_argument("--sizes", default="1000000,10000000", help="numbers of paths")
    parser.add_argument("--count", type=int, default=100, help="replicas sharing the paths")
    parser.add_argument("--replicas", type=int, default=100, help="local replicas to launch")
    parser.add_argument("--sessions", type=int, default=5000, help="sessions for ps")
    parser.add_argument(
        "--launch-replicas", default="100,256", help="replicas launched on the fake server"
    )
    parser.add_argument("--latency", default="20,100", help="milliseconds per create request")
    parser.add_argument(
        "--concurrency", default="16,32,64", help="requests in flight (both clients)"
    )
    parser.add_argument(
        "--local-sessions", default="0,1000,5000", help="finished local sessions for local-ps"
    )
    parser.add_argument(
        "--quick", action="store_true", help="5 runs, 1 of each heavy figure, 1 M paths only"
    )
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.heavy_runs, args.sizes = 5, 1, "1000000"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sections = args.only or list(SECTIONS)
    peer = ensure_peer(args.peer_venv)
    ours = ensure_ours(args.ours_venv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="canfar-bench-") as tmp:
        work = Path(tmp)
        check_env = isolated_env(work / "check")
        check_imports_from(ours, ("canfar", DISTRIBUTED, "canfar_core"), check_env)
        check_imports_from(peer, ("canfar", DISTRIBUTED), check_env)
        if "startup" in sections:
            figures += startup(ours, peer, args.runs, work)
        if "distribution" in sections:
            figures += distribution(ours, peer, args.heavy_runs, sizes, args.count, work)
        if "launch" in sections:
            figures += launch(ours, args.heavy_runs, args.replicas, work)
        if "ps" in sections:
            figures += ps_many(ours, peer, args.heavy_runs, args.sessions, work)
        if "replicas" in sections:
            figures += replicas_launch(
                ours,
                peer,
                args.heavy_runs,
                [int(c) for c in args.launch_replicas.split(",")],
                [float(ms) / 1000 for ms in args.latency.split(",")],
                [int(c) for c in args.concurrency.split(",")],
                work,
            )
        if "local-ps" in sections:
            local_sizes = [int(s) for s in args.local_sessions.split(",") if s.strip()]
            figures += local_ps(ours, peer, args.runs, local_sizes, work)
    print(
        f"# canfar (this tree, Python {python_version(ours)}) vs canfar {PEER_VERSION} "
        f"(Python {python_version(peer)}); {os.cpu_count()} CPUs; medians of {args.runs} "
        f"start-up runs, {args.heavy_runs} of the others; times are wall clock, "
        "memory is peak RSS"
    )
    print(render(figures, markdown=args.markdown))
    if args.json:
        args.json.write_text(json.dumps([asdict(f) for f in figures], indent=2) + "\n")
    return 1 if args.strict and any(f.met is False for f in figures) else 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker" and sys.argv[2] == "distribution":
        size, source, strategy, replica, count = sys.argv[3:8]
        _worker_distribution(int(size), source, strategy, int(replica), int(count))
        sys.exit(0)
    if len(sys.argv) > 4 and sys.argv[1] == "--worker" and sys.argv[2] == "launch":
        _worker_launch(int(sys.argv[3]), sys.argv[4])
        sys.exit(0)
    if len(sys.argv) > 3 and sys.argv[1] == "--worker" and sys.argv[2] == "populate":
        _worker_populate(int(sys.argv[3]))
        sys.exit(0)
    sys.exit(main())
