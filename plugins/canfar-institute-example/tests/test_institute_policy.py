"""The institute's rules, as its users meet them through canfar's Python API and hooks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from canfar_institute_example import plugin
from canfar_institute_example.settings import SITE

from canfar.sessions import Session
from canfar_core.errors import PolicyError
from canfar_core.manager import get_manager
from canfar_core.models import Server, SessionSpec


def _prepared(**fields) -> SessionSpec:
    spec = SessionSpec(**fields)
    get_manager().hook.canfar_prepare_session(spec=spec)
    return spec


def _log_lines(home: Path) -> list[dict]:
    path = home / "state" / "canfar" / plugin.LOG_NAME
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_plugin_is_loaded_from_its_entry_point() -> None:
    names = {info.name: info for info in get_manager().plugins()}
    assert "institute-example" in names
    assert names["institute-example"].distribution == "canfar-institute-example"
    assert not names["institute-example"].builtin


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"cores": 64}, ["cores 64", "limit of 16 cores"]),
        ({"cores": 16.5}, ["cores 16.5", "limit of 16 cores"]),
        ({"ram": 128}, ["ram 128", "limit of 64 GB"]),
    ],
)
def test_oversize_requests_are_refused_naming_value_and_cap(fields, named, canfar_home) -> None:
    with pytest.raises(PolicyError) as refused:
        _prepared(kind="headless", image="img", **fields)
    for words in [*named, SITE.support]:
        assert words in str(refused.value)


def test_requests_at_the_cap_or_unset_pass(canfar_home) -> None:
    assert _prepared(kind="headless", image="img", cores=16, ram=64).cores == 16
    spec = _prepared(kind="headless", image="img")
    assert (spec.cores, spec.ram) == (None, None)


def test_the_site_image_is_the_default_and_only_the_default(canfar_home) -> None:
    assert _prepared(kind="headless").image == SITE.default_image
    assert _prepared(kind="headless", image="mine:1").image == "mine:1"


def test_site_variables_go_only_to_kinds_that_take_an_environment(canfar_home) -> None:
    assert _prepared(kind="headless", image="img").env == {"SITE_NAME": "example-institute"}
    assert _prepared(kind="notebook", image="img").env == {}
    # the user's own value wins
    assert _prepared(kind="headless", image="img", env={"SITE_NAME": "mine"}).env == {
        "SITE_NAME": "mine"
    }


def test_python_api_refuses_before_anything_runs(canfar_home) -> None:
    session = Session(backend="local")
    with pytest.raises(PolicyError, match="limit of 16 cores"):
        session.create(image="img", cmd="true", cores=64)
    assert session.fetch() == []
    assert not (canfar_home / "state" / "canfar" / plugin.LOG_NAME).exists()


def test_a_local_launch_gets_the_site_variables_and_is_logged(canfar_home) -> None:
    session = Session(backend="local")
    code = "import os; print(os.environ['SITE_NAME'])"
    ids = session.create(
        name="sitejob", image="img", cmd=sys.executable, args=["-c", code], replicas=2, cores=1
    )
    done = session.wait(ids, status="Completed", timeout=30, poll=0.05)
    assert [done[i].exit_code for i in ids] == [0, 0]
    assert [session.logs(i, errors="raise")[i] for i in ids] == ["example-institute\n"] * 2
    (entry,) = _log_lines(canfar_home)
    assert entry["ids"] == ids
    assert (entry["name"], entry["kind"], entry["backend"], entry["replicas"]) == (
        "sitejob",
        "headless",
        "local",
        2,
    )
    assert entry["cores"] == 1
    assert entry["env_keys"] == ["SITE_NAME"]


def test_every_launch_is_one_json_line_without_environment_values(canfar_home) -> None:
    spec = SessionSpec(
        kind="headless", image="img", name="a", env={"TOKEN": "s3cret"}, backend="local"
    )
    plugin.canfar_session_launched(spec=spec, ids=["x1"])
    plugin.canfar_session_launched(spec=spec, ids=["y1", "y2"])
    lines = _log_lines(canfar_home)
    assert [line["ids"] for line in lines] == [["x1"], ["y1", "y2"]]
    assert all(line["env_keys"] == ["TOKEN"] for line in lines)
    assert "s3cret" not in (canfar_home / "state" / "canfar" / plugin.LOG_NAME).read_text()


def test_the_site_server_is_offered_for_login() -> None:
    # Only this plugin's answer: the built-in discovery would look up registries on the network.
    impls = get_manager().hook.canfar_discover_servers.get_hookimpls()
    (ours,) = [impl for impl in impls if impl.plugin_name == "institute-example"]
    assert ours.function() == Server(
        "example-institute",
        "https://sp.example.org/skaha",
        auth="oidc",
        description="Example Institute science platform",
    )


def test_importing_the_plugin_stays_light() -> None:
    code = (
        "import sys, canfar_institute_example.plugin\n"
        "heavy = {'json', 'click', 'platformdirs', 'requests', 'tabulate', 'sqlite3'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
