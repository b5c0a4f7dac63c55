"""Every hook is called where a plugin author is promised it is: on the CLI and the Python API,
on every backend. Each test drives canfar from the outside, through the example packages or a
plugin registered for one test, and ``WIRED`` records which hooks each test proves; the last test
fails when a hook has none.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from canfar_balanced import shares

from canfar.helpers import distributed
from canfar.sessions import Session
from canfar_core import hookimpl, hookspecs
from canfar_core.backend import Backend
from canfar_core.cli import main
from canfar_core.errors import PolicyError
from canfar_core.models import LaunchResult, SessionKind, SessionSpec
from tests.fakeskaha.server import FakeSkaha

F = TypeVar("F", bound=Callable[..., Any])
WIRED: dict[str, list[str]] = {}
SITE_ENV = "SITE_NAME=example-institute"
FAKE_IMAGE = "images.canfar.net/skaha/terminal:1.1.2"


def wires(*hooks: str) -> Callable[[F], F]:
    """Mark a test as proving that ``hooks`` are called on a real path."""

    def mark(test: F) -> F:
        for hook in hooks:
            WIRED.setdefault(hook, []).append(test.__name__)
        return test

    return mark


def _launch_log(home: Path) -> list[dict[str, Any]]:
    path = home / "state" / "canfar" / "institute-launches.log"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


class MemoryBackend(Backend):
    """A third-party backend that keeps what it was asked to launch."""

    name = "memory"
    launched: list[SessionSpec] = []

    def create(self, spec: SessionSpec) -> LaunchResult:
        MemoryBackend.launched.append(spec)
        return LaunchResult(ids=[f"mem{n}" for n in range(1, spec.replicas + 1)])


class MemoryPlugin:
    @hookimpl
    def canfar_register_backends(self, register):
        register("memory", MemoryBackend)

    @hookimpl
    def canfar_register_session_kinds(self, register):
        register(
            SessionKind("gpu-batch", "a batch job on GPUs", interactive=False, accepts_command=True)
        )
        register(SessionKind("vscode", "VS Code in the browser"))


@pytest.fixture
def memory_backend(canfar_plugin) -> type[MemoryBackend]:
    MemoryBackend.launched = []
    canfar_plugin(MemoryPlugin(), name="memory-backend")
    return MemoryBackend


# -- strategies and replica positions -------------------------------------------------------


class SiteScheduler:
    """An institute's own batch system, which numbers its tasks from 0."""

    @hookimpl
    def canfar_replica_position(self, environ):
        if "SITE_TASK" not in environ:
            return None
        return int(environ["SITE_TASK"]) + 1, int(environ["SITE_TASKS"])


@wires("canfar_register_strategies", "canfar_replica_position")
def test_an_installed_strategy_runs_under_a_plugins_replica_position(
    canfar_home, canfar_plugin, monkeypatch
) -> None:
    canfar_plugin(SiteScheduler())
    monkeypatch.setenv("SITE_TASK", "2")
    monkeypatch.setenv("SITE_TASKS", "4")
    sizes = [50, 3, 8, 40, 1, 22, 9, 31, 5]
    assert distributed.position() == (3, 4)
    assert list(distributed.split(sizes, "balanced")) == shares(sizes, 4)[2]
    assert list(distributed.chunk(list(range(8)))) == [4, 5]
    monkeypatch.setenv("REPLICA_ID", "1")  # the platform's own variables come first
    monkeypatch.setenv("REPLICA_COUNT", "2")
    assert distributed.position() == (1, 2)


@wires("canfar_replica_position")
def test_an_installed_plugin_answers_before_the_built_in_engines(
    canfar_home, canfar_plugin, monkeypatch
) -> None:
    for name, value in {
        "SLURM_ARRAY_TASK_ID": "7",
        "SLURM_ARRAY_TASK_MIN": "5",
        "SLURM_ARRAY_TASK_MAX": "8",
    }.items():
        monkeypatch.setenv(name, value)
    assert distributed.position() == (3, 4)  # the built-in Slurm support

    class SiteSlurm:
        @hookimpl
        def canfar_replica_position(self, environ):
            return (1, 2) if "SLURM_ARRAY_TASK_ID" in environ else None

    canfar_plugin(SiteSlurm())
    assert distributed.position() == (1, 2)


# -- launching: CLI and Python API, every backend -----------------------------------------------


@wires("canfar_register_backends", "canfar_prepare_session", "canfar_session_launched")
def test_a_third_party_backend_gets_the_site_rules(canfar_home, memory_backend) -> None:
    session = Session(backend="memory")
    with pytest.raises(PolicyError, match="limit of 16 cores"):
        session.create(image="img", cmd="true", cores=64)
    assert memory_backend.launched == []  # refused before the backend saw it

    assert session.create(image="img", cmd="true", replicas=2) == ["mem1", "mem2"]
    (spec,) = memory_backend.launched
    assert spec.env == {"SITE_NAME": "example-institute"}
    (entry,) = _launch_log(canfar_home)
    assert (entry["backend"], entry["ids"]) == ("memory", ["mem1", "mem2"])


@wires("canfar_register_session_kinds", "canfar_prepare_session")
def test_a_plugins_session_kinds_follow_the_site_rules(canfar_home, memory_backend) -> None:
    session = Session(backend="memory")
    assert {"gpu-batch", "vscode"} <= set(session.kinds())
    session.create(image="img", kind="gpu-batch", cmd="train")
    session.create(image="img", kind="vscode")
    batch, editor = memory_backend.launched
    assert batch.env == {"SITE_NAME": "example-institute"}  # it takes a command, so variables
    assert editor.env == {}


@wires("canfar_prepare_session", "canfar_session_launched")
def test_the_cli_runs_the_hooks_around_a_launch(canfar_home, memory_backend, capsys) -> None:
    assert (
        main(["create", "headless", "img", "--backend", "memory", "--cores", "64", "--", "true"])
        == 1
    )
    assert "Error: cores 64 is over the Example Institute limit" in capsys.readouterr().err
    assert (
        main(
            [
                "create",
                "gpu-batch",
                "img",
                "--backend",
                "memory",
                "--name",
                "train",
                "--env",
                "EPOCHS=3",
                "--",
                "train",
            ]
        )
        == 0
    )
    (spec,) = memory_backend.launched
    assert spec.env == {"EPOCHS": "3", "SITE_NAME": "example-institute"}
    (entry,) = _launch_log(canfar_home)
    assert (entry["name"], entry["ids"]) == ("train", ["mem1"])


@wires("canfar_prepare_session", "canfar_session_launched")
def test_the_canfar_backend_sends_what_the_site_prepared(
    canfar_home,
    fake_skaha: FakeSkaha,
    monkeypatch,
) -> None:
    monkeypatch.setenv("CANFAR_HTTP_BACKOFF", "0.01")
    session = Session(url=fake_skaha.url, token=fake_skaha.token)
    assert session.context.backend == "canfar"
    with pytest.raises(PolicyError, match="limit of 16 cores"):
        session.create(image=FAKE_IMAGE, cmd="echo", cores=64)
    assert fake_skaha.requests_to("POST") == []  # refused before anything was sent

    ids = session.create(image=FAKE_IMAGE, name="onsite", cmd="echo", args=["hi"], cores=1)
    (post,) = fake_skaha.requests_to("POST")
    assert SITE_ENV in post.values("env")
    (entry,) = _launch_log(canfar_home)
    assert (entry["backend"], entry["name"], entry["ids"]) == ("canfar", "onsite", ids)


@wires("canfar_prepare_session")
def test_a_request_without_an_image_gets_the_site_default(canfar_home, memory_backend) -> None:
    Session(backend="memory").create(kind="headless", cmd="true")
    (spec,) = memory_backend.launched
    assert spec.image == "images.example.org/example/astro-base:2026.1"
    assert spec.name  # a name is made from the image the site chose


# -- commands and servers -----------------------------------------------------------------------


@wires("canfar_register_commands")
def test_a_plugin_command_is_listed_and_runs(canfar_home, capsys) -> None:
    assert main(["--help"]) == 0
    assert re.search(r"^  site +Show this site's server", capsys.readouterr().out, re.M)
    assert main(["site"]) == 0
    assert "help@example.org" in capsys.readouterr().out


@wires("canfar_discover_servers")
def test_canfar_auth_login_offers_and_logs_in_to_the_site_server(canfar_home) -> None:
    # The registries are replaced by a loopback port where nothing listens: discovery from the
    # network finds nothing, so every server offered comes from a plugin.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANFAR_")}
    env["CANFAR_REGISTRY_URLS"] = f"http://127.0.0.1:{closed}/reg/resource-caps"
    command = [str(Path(sys.executable).with_name("canfar")), "auth", "login"]

    unknown = subprocess.run(
        [*command, "nosuch"], env=env, capture_output=True, text=True, timeout=60
    )
    assert unknown.returncode == 1
    assert "no server named 'nosuch' (known: example-institute)" in unknown.stderr

    login = subprocess.run(
        [*command, "example-institute", "--auth", "token", "--token-stdin", "--no-verify"],
        env=env,
        input="a-token\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert login.returncode == 0, login.stderr
    saved = json.loads((canfar_home / "config" / "canfar" / "config.json").read_text("utf-8"))
    assert saved["active"] == "example-institute"
    assert saved["contexts"]["example-institute"]["url"] == "https://sp.example.org/skaha"


# -- auth providers -----------------------------------------------------------------------------


@wires("canfar_register_auth_providers")
def test_a_plugins_auth_provider_signs_the_canfar_backends_requests(
    canfar_home,
    canfar_plugin,
    fake_skaha: FakeSkaha,
    monkeypatch,
) -> None:
    from canfar_core.auth import get_provider
    from canfar_core.config import config_file
    from canfar_core.models import AuthStatus

    class SiteTicket:
        name = "site-ticket"

        def apply(self, http, context, credentials):
            http.headers["Authorization"] = f"Bearer {credentials['ticket']}"

        def check(self, context, credentials):
            return None

        def status(self, context, credentials):
            return AuthStatus(context=context.name, server=context.url or "", auth=self.name)

        def login(self, context, **options):
            return {"ticket": fake_skaha.token}

    class TicketPlugin:
        @hookimpl
        def canfar_register_auth_providers(self, register):
            register("site-ticket", SiteTicket())

    canfar_plugin(TicketPlugin())
    assert isinstance(get_provider("site-ticket"), SiteTicket)

    monkeypatch.setenv("CANFAR_HTTP_BACKOFF", "0.01")
    store = config_file()
    store.write(
        {
            "active": "site",
            "contexts": {
                "site": {"backend": "canfar", "url": fake_skaha.url, "auth": "site-ticket"}
            },
        }
    )
    session = Session()
    session.context.save_credentials({"ticket": fake_skaha.token})
    assert Session().fetch() == []
    (request,) = fake_skaha.requests_to("GET", "/session$")
    assert request.header("Authorization") == f"Bearer {fake_skaha.token}"


# -- the default context ------------------------------------------------------------------------


@wires("canfar_default_context")
def test_a_plugin_chooses_where_sessions_run_when_nothing_else_does(
    canfar_home, canfar_plugin, fake_skaha: FakeSkaha, capsys, monkeypatch
) -> None:
    from canfar_core.contexts import Context, active_context

    asked = []

    class SiteDefault:
        @hookimpl
        def canfar_default_context(self):
            asked.append(True)
            return Context("site", "canfar", url=fake_skaha.url, source="environment")

    canfar_plugin(SiteDefault())
    monkeypatch.setenv("CANFAR_TOKEN", fake_skaha.token)
    assert active_context().name == "site"
    assert main(["ps", "-q"]) == 0
    assert fake_skaha.requests_to("GET", "/session$"), "ps did not run on the chosen server"
    monkeypatch.setenv("CANFAR_BACKEND", "local")
    asked.clear()
    assert active_context().backend == "local"
    assert not asked, "a deliberate choice of the local backend must not ask the plugins"


# -- output formats -----------------------------------------------------------------------------


@wires("canfar_register_output_formats")
def test_a_plugins_output_format_writes_the_machine_documents(
    canfar_home, canfar_plugin, capsys
) -> None:
    given = []

    class Lines:
        @hookimpl
        def canfar_register_output_formats(self, register):
            def write(data):
                given.append(data)
                return "".join(f"{key}={value}\n" for key, value in data.items())

            register("lines", write)

    assert main(["config", "set", "defaults.image", "images.example.org/é:1"]) == 0
    assert main(["config", "show", "-o", "lines"]) == 2  # not yet registered: a usage error
    assert "lines" in capsys.readouterr().err
    canfar_plugin(Lines())
    assert main(["config", "show", "-o", "lines"]) == 0
    assert capsys.readouterr().out == "defaults={'image': 'images.example.org/é:1'}\n"
    assert given == [{"defaults": {"image": "images.example.org/é:1"}}]


# -- storage ------------------------------------------------------------------------------------


@wires("canfar_register_storage")
def test_a_storage_plugin_is_reached_by_the_commands_and_the_python_api(
    canfar_home, canfar_plugin, run, tmp_path
) -> None:
    from canfar import storage
    from tests.data.memory_storage import MemoryStorage, clear_memory

    clear_memory()
    canfar_plugin(MemoryStorage())
    assert "mem" in storage.identifiers()
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    result = run("data", "cp", str(tmp_path / "table.csv"), "mem:/site/")
    assert result.code == 0, result.err
    assert storage.filesystem("mem").cat("/site/table.csv") == b"a,b\n1,2\n"
    assert run("data", "cat", "mem:/site/table.csv").out == "a,b\n1,2\n"
    clear_memory()


# -- the meta-test ------------------------------------------------------------------------------


class ProjectOption:
    @hookimpl
    def canfar_register_create_options(self, register):
        from canfar_core.models import CreateOption

        register("project", CreateOption(help="The allocation to charge."))


@wires("canfar_register_create_options", "canfar_prepare_session")
def test_a_plugins_create_option_reaches_the_backend(
    canfar_home, memory_backend, canfar_plugin, capsys
) -> None:
    canfar_plugin(ProjectOption(), name="project-option")
    command = ["create", "gpu-batch", "img", "--backend", "memory", "--project", "rrg"]
    assert main([*command, "--", "train"]) == 0, capsys.readouterr().err
    Session(backend="memory").create(
        image="img", kind="gpu-batch", cmd="train", options={"project": "rrg-py"}
    )
    assert [spec.options for spec in memory_backend.launched] == [
        {"project": "rrg"},
        {"project": "rrg-py"},
    ]
    assert [spec.env["SITE_NAME"] for spec in memory_backend.launched] == ["example-institute"] * 2


def test_every_hook_is_proved_wired_by_a_test() -> None:
    missing = [hook for hook in hookspecs.hook_names() if hook not in WIRED]
    assert not missing, f"no test proves these hooks are called: {missing}"
    assert set(WIRED) <= set(hookspecs.hook_names()), "a test claims a hook that does not exist"
