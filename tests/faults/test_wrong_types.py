"""A hand-edited config or credentials file with a value of the wrong type: the value is named,
with the command that fixes it, in one line; never "unexpected TypeError". Commands that do not
need the broken value still work (``auth switch`` and ``auth logout`` are how one gets out)."""

from __future__ import annotations

import json

import pytest

from canfar_core import config

SERVER = {"backend": "canfar", "url": "https://x.invalid/skaha", "auth": "token"}

#: (config.json, the words the error must hold)
WRONG_CONFIGS = {
    "active-list": ({"active": ["x"]}, "'active'"),
    "options-text": (
        {"contexts": {"a": {**SERVER, "options": "x"}}, "active": "a"},
        "'options' must be an object",
    ),
    "url-number": ({"contexts": {"a": {**SERVER, "url": 5}}, "active": "a"}, "'url' must be text"),
    "defaults-number": ({"defaults": 5}, "'defaults'"),
    "cores-text": ({"defaults": {"cores": "x"}}, "defaults.cores"),
    "image-number": ({"defaults": {"image": 5}}, "defaults.image"),
    "runtime-number": ({"plugins": {"local": {"runtime": 5}}}, "plugins.local.runtime"),
}

COMMANDS = [
    ("ps",),
    ("info", "ID"),
    ("delete", "--force", "ID"),
    ("create", "headless", "img/x:1", "--", "true"),
]


def _write(data: dict) -> None:
    path = config.config_file().path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: args[0])
@pytest.mark.parametrize(("data", "named"), WRONG_CONFIGS.values(), ids=WRONG_CONFIGS.keys())
def test_a_wrong_type_in_config_is_named_with_its_fix(run, data, named, args):
    made = run("create", "headless", "img/x:1", "-q", "--", "true")  # on this machine
    assert made.code == 0, made.err
    session_id = made.out.strip()
    _write(data)
    result = run(*(session_id if arg == "ID" else arg for arg in args))
    assert "unexpected" not in result.err
    assert "Traceback" not in result.err
    if named.startswith(("defaults", "plugins")) and args[0] != "create":
        assert result.code == 0, result.err  # it does not need the broken value: it works
        return
    assert result.code == 1
    line = result.error_line()
    assert named in line
    assert str(config.config_file().path) in line
    assert "canfar " in line.split(";")[-1]  # the fix is a command


@pytest.mark.parametrize(("data", "named"), WRONG_CONFIGS.values(), ids=WRONG_CONFIGS.keys())
def test_switching_to_this_machine_always_works(run, data, named):
    _write(data)
    result = run("auth", "switch", "local")
    assert result.code == 0, result.err
    assert "unexpected" not in result.err
    assert config.config_file().read()["active"] == "local"


@pytest.mark.parametrize("entry", [5, [], "token"], ids=["number", "list", "text"])
def test_credentials_of_the_wrong_type_are_named(run, entry):
    _write({"contexts": {"a": SERVER}, "active": "a"})
    config.credentials_file().path.write_text(json.dumps({"a": entry}))
    for args in (("ps",), ("auth", "status")):
        result = run(*args)
        assert result.code == 1
        line = result.error_line()
        assert "credentials of 'a'" in line
        assert "canfar auth login a" in line
    assert run("auth", "logout", "a").code == 0
