"""Random arguments to every command never produce a traceback.

Hypothesis picks a command or subcommand (found by walking the real ``canfar`` group, so a new
command is fuzzed as soon as it exists), a few of its options with random values, and random
positional arguments: unicode, empty strings, huge and negative numbers, ids such as ``../x``,
env pairs without ``=``... Whatever it picks, ``canfar`` must answer with exit code 0, 1 or 2
and, on failure, a message: never a traceback, never ``Error: unexpected ...`` (an exception
that is not a :class:`~canfar_core.errors.CanfarError`, which is a bug).

Both backends are fuzzed: the local one in an isolated home, and the canfar one against the fake
Skaha service. Nothing dangerous can run: local sessions find only ``true`` on their ``PATH``
(besides canfar's own interpreter) and are all deleted at the end, network access is refused
beyond loopback, and ``ps --watch`` is interrupted after one round as Ctrl-C would.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.fakeskaha import FakeSkaha
from tests.faults.harness import TOKEN, USER, invoke

#: Examples per backend; set FUZZ_EXAMPLES to search longer.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))

#: Values that have broken command-line tools before, or are close to the edge of a check.
EDGE_VALUES = [
    "",
    " ",
    "-",
    "--",
    "0",
    "1",
    "2",
    "3",
    "-1",
    "-0",
    "257",
    "1.5",
    "0.0001",
    "1e400",
    "-1e400",
    "nan",
    "inf",
    "99999999999999999999999999",
    "-99999999999999999999999999",
    "0x10",
    "../x",
    "..",
    ".",
    "/",
    "a/b",
    "%2e%2e",
    "x" * 300,
    "K=V",
    "NOEQUALS",
    "=value",
    "A=a=b",
    'A="quoted"',
    "A=line\nbreak",
    "é",
    "☃.☃",
    "日本語",
    "\x00",
    "a\x00b",
    "\t",
    "true",
    "headless",
    "notebook",
    "desktop",
    "HEADLESS",
    "Running",
    "Completed",
    "Failed",
    "skaha/astroml",
    "images.canfar.net/skaha/astroml:latest",
    "Skaha/AstroML",
    "local",
    "canfar",
    "token",
    "x509",
    "oidc",
    "defaults.image",
    "defaults.cores",
    "contexts.x.url",
    "active",
    "bash",
    "http://127.0.0.1:9/skaha",
    "ftp://example.org",
    "http://[::1",
    "https://☃.example",
]

#: Options that change how canfar itself runs, not what a command does: left out.
SKIPPED_OPTIONS = {"--debug", "--help", "-h", "--version", "-V"}


#: Stand-ins for what exists only at run time (ids of real sessions, the server's URL): the
#: strategies must not depend on state, so these are drawn and then replaced.
SLOTS = ["<id0>", "<id1>", "<id2>", "<id3>", "<url>", "<root>"]


def value_strategy() -> st.SearchStrategy[str]:
    """Any value: an edge case, random text, a huge or odd number."""
    return st.one_of(
        st.sampled_from(EDGE_VALUES + SLOTS),
        st.text(max_size=12),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
    )


#: Values a parameter of this name usually gets, so that runs get past the first check as often
#: as they stop at it.
PLAUSIBLE: dict[str, list[str]] = {
    "kind": ["headless", "notebook", "desktop", "carta", "firefly", "contributed"],
    "image": ["skaha/astroml", "skaha/astroml:latest", "images.canfar.net/skaha/terminal:1.1.2"],
    "status": ["Pending", "Running", "Completed", "Failed", "completed"],
    "statuses": ["Running", "Completed", "Failed"],
    "name": ["fit", "job-1", "a" * 58, "a" * 59],
    "env_pairs": ["A=1", "BAND=r", "PATH_X=/data/x"],
    "replicas": ["1", "2", "3", "256"],
    "cores": ["1", "2", "0.5", "16", "17"],
    "ram": ["1", "2", "8", "7"],
    "gpus": ["0", "1", "28", "29"],
    "timeout": ["0", "0.2"],
    "watch": ["0.2", "1"],
    "backend": ["local", "canfar", "memory"],
    "shell": ["bash", "zsh", "fish"],
    "key": ["defaults.image", "defaults.cores", "defaults.kind", "active", "plugins.x.y", "a..b"],
    "value": ["skaha/astroml", "2", "-1", "local", "{", "[1]"],
    "prefix": ["seed", "nb", "astroml"],
    "auth_mode": ["token", "x509", "oidc", "kerberos"],
    "runtime": ["host", "none", "singularity"],
    "context_name": ["local", "environment", "nowhere"],
}


def value_for(param: click.Parameter, values: st.SearchStrategy[str]):
    """A strategy for one parameter's value: plausible for it half of the time."""
    plausible = list(PLAUSIBLE.get(param.name or "", []))
    if param.name in ("ids", "session_id", "server", "issuer", "url", "client_id", "cert"):
        plausible += SLOTS
    if not plausible:
        return values
    return st.one_of(st.sampled_from(plausible), values)


def commands(group: click.Group) -> list[tuple[tuple[str, ...], click.Command]]:
    """Every command and subcommand under ``group``, each with the words that reach it."""
    found: list[tuple[tuple[str, ...], click.Command]] = []

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        if isinstance(command, click.Group):
            # Through click's own lookup, so that a group that loads its subcommands lazily
            # (canfar data) offers the same ones on every draw.
            ctx = click.Context(command)
            for name in sorted(command.list_commands(ctx)):
                sub = command.get_command(ctx, name)
                if sub is not None:
                    walk(sub, (*path, name))
        else:
            found.append((path, command))
        if isinstance(command, click.Group) and path:
            found.append((path, command))  # the group alone: usage, or its help

    walk(group, ())
    return found


@st.composite
def invocations(draw, targets) -> list[str]:
    """``[*command words, *options and values, *arguments]`` for one random run (with
    :data:`SLOTS` still to fill in)."""
    values = value_strategy()
    path, command = draw(st.sampled_from(targets))
    argv = list(path)
    if draw(st.integers(0, 9)) == 0:
        context = click.Option(["--context", "context_name"])
        argv = ["--context", draw(value_for(context, values)), *argv]
    options = [
        p
        for p in command.params
        if isinstance(p, click.Option) and not set(p.opts) & SKIPPED_OPTIONS
    ]
    words: list[str] = []
    for option in draw(st.lists(st.sampled_from(options), max_size=4)) if options else []:
        name = draw(st.sampled_from(option.opts + option.secondary_opts))
        if option.is_flag and not option.is_bool_flag and option.flag_value is not None:
            words.append(name)  # ps --watch: with or without a value
            if draw(st.booleans()):
                words.append(draw(value_for(option, values)))
        elif option.is_flag or option.count:
            words.append(name)
        elif name.startswith("--") and draw(st.integers(0, 3)) == 0:
            words.append(f"{name}={draw(value_for(option, values))}")
        else:
            words.extend([name, draw(value_for(option, values))])
    for argument in (p for p in command.params if isinstance(p, click.Argument)):
        if argument.nargs == -1:
            words.extend(draw(st.lists(value_for(argument, values), max_size=3)))
        elif draw(st.integers(0, 9)) > 0:  # now and then one is missing: a usage error
            words.append(draw(value_for(argument, values)))
    if draw(st.integers(0, 6)) == 0:  # a stray word or an unknown option
        junk = draw(st.one_of(values, st.sampled_from(["--bogus", "-Z", "--", "--all"])))
        words.insert(draw(st.integers(0, len(words))), junk)
    if path == ("create",) and draw(st.booleans()):
        words.extend(["--", "true"])
    return argv + words


def fill(argv: list[str], known: list[str]) -> list[str]:
    """``argv`` with each slot replaced by the run-time value it stands for."""
    filled = []
    for word in argv:
        for slot, value in zip(SLOTS, known, strict=True):
            word = word.replace(slot, value)  # also inside --url=<url>
        filled.append(word)
    return filled


class _OneRound:
    """Stands in for the ``time`` module in the session commands: ``ps --watch`` draws once,
    then its sleep is interrupted as Ctrl-C would."""

    def __getattr__(self, name: str):
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        raise KeyboardInterrupt


@pytest.fixture(autouse=True)
def contained(monkeypatch: pytest.MonkeyPatch, server: FakeSkaha, tmp_path: Path) -> None:
    """No network beyond loopback, no endless loops, no identity provider on the Internet, and
    a working folder of its own (``logs -o .`` and other relative paths write there)."""
    import canfar_plugins.session_commands.show as session_commands

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)

    monkeypatch.setattr(session_commands, "time", _OneRound())
    monkeypatch.setenv("CANFAR_OIDC_ISSUER", server.root)
    monkeypatch.setenv("CANFAR_HTTP_RETRIES", "1")
    monkeypatch.setenv("CANFAR_HTTP_TIMEOUT", "2")
    real = socket.getaddrinfo

    def loopback_only(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("127.0.0.1", "localhost", "::1"):
            raise socket.gaierror(socket.EAI_NONAME, f"{name}: no network in this test")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)


@pytest.fixture
def server() -> Iterator[FakeSkaha]:
    """A fake Skaha service whose headless sessions finish at once (so ``logs -f`` ends)."""
    fake = FakeSkaha(tokens={TOKEN: USER}, run_seconds=0.0).start()
    try:
        yield fake
    finally:
        fake.stop()


def fresh_config(home: Path) -> None:
    """Forget what the previous example saved (contexts, settings)."""
    shutil.rmtree(home / "config", ignore_errors=True)


def check(result, argv: list[str]) -> None:
    event(f"exit {result.code}")
    shown = (
        f"canfar {argv!r}\nexit {result.code}\n"
        f"stdout: {result.out[-2000:]}\nstderr: {result.err[-2000:]}"
    )
    allowed = {0, 1, 2}
    if any(word.startswith("--watch") for word in argv):
        allowed.add(130)  # interrupted on purpose, see _OneRound
    assert result.code in allowed, shown
    assert "Traceback" not in result.err, shown
    assert "Traceback" not in result.out, shown
    assert "Error: unexpected" not in result.err, shown
    # `data test` answers "no" by exit 1, as test(1) does; global options may come before it
    answers_by_exit_code = any(argv[i : i + 2] == ["data", "test"] for i in range(len(argv)))
    if result.code not in (0, 130) and not (answers_by_exit_code and result.code == 1):
        assert "Error" in result.err or "Usage" in result.err or "Aborted" in result.err, shown


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def slot_values(ids: list[str], server: FakeSkaha) -> list[str]:
    """What :data:`SLOTS` stand for now: four session ids (made up when there are fewer), the
    service URL and the server's root."""
    padded = (ids + ["zz9zz9zz"] * 4)[:4]
    return [*padded, server.url, server.root]


@pytest.fixture
def local_only(hermetic: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> Iterator[None]:
    """The local backend, with a ``PATH`` that holds only ``true``; every session it started is
    deleted afterwards."""
    bin_dir = hermetic / "bin"
    bin_dir.mkdir()
    (bin_dir / "true").symlink_to(shutil.which("true") or "/bin/true")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("CANFAR_BACKEND", "local")
    yield
    fresh_config(hermetic)  # whatever the last example saved there
    ids = invoke(capsys, ["ps", "-a", "-q"]).out.split()
    if ids:
        invoke(capsys, ["delete", "--force", *ids])


@FUZZ
@given(data=st.data())
def test_fuzz_against_the_local_backend(data, capsys, hermetic, server, local_only):
    from canfar_core.cli import build_cli

    fresh_config(hermetic)
    ids = invoke(capsys, ["ps", "-a", "-q"]).out.split()
    if len(ids) < 2:
        ids += invoke(
            capsys, ["create", "headless", "skaha/astroml", "-q", "--", "true"]
        ).out.split()
    argv = data.draw(invocations(commands(build_cli())), label="argv")
    argv = fill(argv, slot_values(ids, server))
    check(invoke(capsys, argv), argv)


@FUZZ
@given(data=st.data())
def test_fuzz_against_the_fake_skaha_service(data, capsys, hermetic, monkeypatch, server):
    from canfar_core.cli import build_cli

    monkeypatch.setenv("CANFAR_URL", server.url)
    monkeypatch.setenv("CANFAR_TOKEN", TOKEN)
    fresh_config(hermetic)
    server.clear_faults()
    while len(server.live_sessions()) < 3:
        server.add_session(name="seed", type="headless")
    if not any(s.type == "notebook" for s in server.live_sessions()):
        server.add_session(name="nb", type="notebook")
    ids = [s.id for s in server.live_sessions()]
    argv = data.draw(invocations(commands(build_cli())), label="argv")
    argv = fill(argv, slot_values(ids, server))
    check(invoke(capsys, argv), argv)
