"""The config and credentials files: round trips, corrupt files left alone, private credentials."""

from __future__ import annotations

import json
import os
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canfar_core import config
from canfar_core.cli import main
from canfar_core.contexts import Context
from canfar_core.errors import ConfigError, ValidationError
from canfar_plugins import config_commands


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# -- the command --------------------------------------------------------------------------


def test_set_then_get_round_trips_each_type(canfar_home, capsys):
    assert run(capsys, "config", "set", "defaults.image", "skaha/astroml:latest")[0] == 0
    assert run(capsys, "config", "set", "defaults.cores", "2")[0] == 0
    assert run(capsys, "config", "set", "defaults.ram", "1.5")[0] == 0
    assert run(capsys, "config", "set", "defaults.gpus", "0")[0] == 0
    assert run(capsys, "config", "get", "defaults.image")[1] == "skaha/astroml:latest\n"
    assert run(capsys, "config", "get", "defaults.cores")[1] == "2\n"
    assert run(capsys, "config", "get", "defaults.ram")[1] == "1.5\n"
    assert run(capsys, "config", "get", "defaults.gpus")[1] == "0\n"
    saved = json.loads((canfar_home / "config" / "canfar" / "config.json").read_text())
    assert saved == {
        "defaults": {"cores": 2, "gpus": 0, "image": "skaha/astroml:latest", "ram": 1.5}
    }


def test_show_lists_dotted_keys_and_json_prints_the_document(canfar_home, capsys):
    main(["config", "set", "defaults.image", "skaha/astroml:latest"])
    main(["config", "set", "plugins.site.tags", '["a", "b"]'])
    capsys.readouterr()
    code, out, _ = run(capsys, "config", "show")
    assert code == 0
    assert out.splitlines() == [
        "defaults.image = skaha/astroml:latest",
        'plugins.site.tags = ["a", "b"]',
    ]
    code, out, _ = run(capsys, "config", "show", "--json")
    assert json.loads(out) == {
        "defaults": {"image": "skaha/astroml:latest"},
        "plugins": {"site": {"tags": ["a", "b"]}},
    }


def test_show_with_nothing_set_says_so(canfar_home, capsys):
    code, out, err = run(capsys, "config", "show")
    assert (code, err) == (0, "")
    assert out.startswith("# no settings yet")
    assert not (canfar_home / "config" / "canfar" / "config.json").exists()


def test_get_of_a_missing_key_exits_1_with_nothing_on_stdout(canfar_home, capsys):
    code, out, err = run(capsys, "config", "get", "defaults.image")
    assert (code, out) == (1, "")
    assert err == "Error: 'defaults.image' is not set\n"


def test_unset_removes_the_key_and_the_sections_it_empties(canfar_home, capsys):
    main(["config", "set", "defaults.image", "a/b:c"])
    main(["config", "set", "plugins.site.quota", "4"])
    assert run(capsys, "config", "unset", "defaults.image")[0] == 0
    assert (
        run(capsys, "config", "show", "--json")[1].strip()
        == '{\n  "plugins": {\n    "site": {\n      "quota": 4\n    }\n  }\n}'
    )
    code, _, err = run(capsys, "config", "unset", "defaults.image")
    assert code == 1
    assert "'defaults.image' is not set" in err


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("defaults.cores", "two", "defaults.cores must be a number, not 'two'"),
        ("defaults.cores", "nan", "defaults.cores must be a number, not 'nan'"),
        ("defaults.ram", "inf", "defaults.ram must be a number, not 'inf'"),
        ("defaults.cores", "0", "defaults.cores must be more than 0, not '0'"),
        ("defaults.gpus", "1.5", "defaults.gpus must be a whole number, not '1.5'"),
        ("defaults.gpus", "-1", "defaults.gpus must not be negative, not '-1'"),
        ("defaults.image", " ", "defaults.image must not be empty"),
        (
            "defaults.colour",
            "red",
            "unknown setting 'defaults.colour' (known: active, defaults.kind",
        ),
        ("plugins..x", "1", "'plugins..x' is not a setting name"),
    ],
)
def test_a_bad_setting_is_a_usage_error_naming_it_and_nothing_is_written(
    canfar_home, capsys, key, value, expected
):
    code, out, err = run(capsys, "config", "set", key, value)
    assert (code, out) == (2, "")
    assert err.startswith(f"Error: {expected}")
    assert err.count("\n") == 1
    assert not (canfar_home / "config").exists()


def test_active_must_name_a_saved_context(canfar_home, capsys):
    code, _, err = run(capsys, "config", "set", "active", "cadc")
    assert code == 1
    assert "no context named 'cadc' (known: local)" in err
    assert run(capsys, "config", "set", "active", "local")[0] == 0
    main(["config", "set", "contexts.cadc.backend", "canfar"])
    assert run(capsys, "config", "set", "active", "cadc")[0] == 0
    assert run(capsys, "config", "get", "active")[1] == "cadc\n"


def test_path_names_the_three_places(canfar_home, capsys):
    code, out, _ = run(capsys, "config", "path")
    assert code == 0
    lines = dict(line.split(maxsplit=1) for line in out.splitlines())
    assert lines["config"] == str(canfar_home / "config" / "canfar" / "config.json")
    assert lines["credentials"] == str(canfar_home / "config" / "canfar" / "credentials.json")
    assert lines["state"] == str(canfar_home / "state" / "canfar")


# -- corrupt files ------------------------------------------------------------------------

CORRUPT = {
    "bad json": b'{"defaults": {"image": "a/b"',
    "not an object": b'["defaults"]\n',
    "not utf-8": b'{"defaults": "\xff\xfe"}\n',
}


@pytest.mark.parametrize("content", CORRUPT.values(), ids=CORRUPT.keys())
@pytest.mark.parametrize(
    "args",
    [
        ["config", "show"],
        ["config", "get", "defaults.image"],
        ["config", "set", "defaults.image", "x/y:z"],
        ["config", "unset", "defaults.image"],
    ],
    ids=["show", "get", "set", "unset"],
)
def test_a_corrupt_config_is_one_line_naming_the_file_and_is_left_byte_for_byte(
    canfar_home, capsys, args, content
):
    path = canfar_home / "config" / "canfar" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    before = path.stat()
    code, out, err = run(capsys, *args)
    assert (code, out) == (1, "")
    assert err.startswith("Error: ")
    assert err.count("\n") == 1
    assert str(path) in err
    assert "Traceback" not in err
    assert path.read_bytes() == content
    assert path.stat().st_mtime_ns == before.st_mtime_ns
    assert os.listdir(path.parent) == ["config.json"]


def test_invalid_json_says_where(canfar_home):
    path = canfar_home / "config" / "canfar" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text('{\n  "a": 1,\n  "b": tru\n}\n')
    with pytest.raises(ConfigError, match=r"line 3, column 8"):
        config.config_file().read()


def test_an_empty_config_file_is_no_settings(canfar_home, capsys):
    path = canfar_home / "config" / "canfar" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text("\n")
    assert run(capsys, "config", "show", "--json")[1] == "{}\n"


# -- writing ------------------------------------------------------------------------------


def test_credentials_are_written_private_even_over_an_open_file(canfar_home):
    store = config.credentials_file()
    store.path.parent.mkdir(parents=True)
    store.path.write_text("{}")
    os.chmod(store.path, 0o644)
    Context(name="cadc", backend="canfar").save_credentials({"token": "s3cret"})
    assert mode_of(store.path) == 0o600
    assert store.read() == {"cadc": {"token": "s3cret"}}


def test_new_credentials_are_private_from_the_first_byte(canfar_home, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(mode_of(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    config.credentials_file().write({"cadc": {"token": "s3cret"}})
    assert seen == [0o600]
    assert mode_of(config.credentials_file().path) == 0o600


def test_a_config_the_user_made_private_stays_private(canfar_home, capsys):
    main(["config", "set", "defaults.image", "a/b:c"])
    path = config.config_file().path
    assert mode_of(path) == 0o644
    os.chmod(path, 0o600)
    main(["config", "set", "defaults.image", "d/e:f"])
    assert mode_of(path) == 0o600


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(canfar_home, monkeypatch):
    store = config.config_file()
    store.write({"defaults": {"image": "old"}})

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(ConfigError, match=r"cannot write .*config.json: No space left on device"):
        store.write({"defaults": {"image": "new"}})
    assert store.read() == {"defaults": {"image": "old"}}
    assert os.listdir(store.path.parent) == ["config.json"]


def test_a_symlinked_config_is_followed_not_replaced(canfar_home, capsys):
    dotfiles = canfar_home / "dotfiles" / "canfar.json"
    dotfiles.parent.mkdir()
    dotfiles.write_text("{}")
    link = config.config_file().path
    link.parent.mkdir(parents=True)
    link.symlink_to(dotfiles)
    assert main(["config", "set", "defaults.kind", "notebook"]) == 0
    assert link.is_symlink()
    assert json.loads(dotfiles.read_text()) == {"defaults": {"kind": "notebook"}}


# -- the helpers, for any key and value ---------------------------------------------------

keys = st.lists(
    st.text(st.characters(blacklist_characters=".", blacklist_categories=("Cs",)), min_size=1),
    min_size=1,
    max_size=4,
).map(".".join)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=keys, value=values)
def test_set_get_unset_and_the_file_round_trip_any_key_and_value(canfar_home, key, value):
    store = config.config_file()
    data: dict = {}
    config_commands.set_path(data, key, value)
    store.write(data)
    assert config.get_path(store.read(), key) == value
    assert config_commands.unset_path(data, key)
    assert data == {}
    assert not config_commands.unset_path(data, key)


def test_setting_below_a_plain_value_is_refused():
    data = {"defaults": "not a section"}
    with pytest.raises(ValidationError, match=r"'defaults' holds a value"):
        config_commands.set_path(data, "defaults.image", "x")
    assert data == {"defaults": "not a section"}


def test_free_prefixes_take_json_or_plain_text():
    assert config_commands.parse_setting("plugins.site.quota", "4") == 4
    assert config_commands.parse_setting("plugins.site.flags", '{"a": true}') == {"a": True}
    assert config_commands.parse_setting("plugins.site.motd", "hello there") == "hello there"
    with pytest.raises(ValidationError, match=r"unknown setting 'plugins.site'"):
        config_commands.parse_setting("plugins.site", "1")


# -- read once per command ----------------------------------------------------------------


def test_one_create_reads_the_configuration_file_once(canfar_home, capsys, monkeypatch):
    # The context, the launch's defaults and the default backend all come from the config:
    # one command parses the file once, however many places ask.
    config.config_file().write({"defaults": {"cores": 1, "backend": "local"}, "active": "local"})
    loads: list[str] = []
    real_load = config.JsonFile._load

    def counting(self: config.JsonFile) -> dict:
        if self.path.name == config.CONFIG_NAME:
            loads.append(str(self.path))
        return real_load(self)

    monkeypatch.setattr(config.JsonFile, "_load", counting)
    code, out, err = run(capsys, "create", "headless", "img/x:1", "-q", "--", "true")
    assert code == 0, err
    assert len(out.split()) == 1
    assert len(loads) == 1, f"the config was read {len(loads)} times"


def test_a_change_is_seen_by_the_next_read_of_the_same_process(canfar_home):
    store = config.config_file()
    store.write({"defaults": {"image": "a"}})
    assert store.read()["defaults"]["image"] == "a"
    with store.update() as data:
        data["defaults"]["image"] = "b"
    first = store.read()
    assert first["defaults"]["image"] == "b"
    first["defaults"]["image"] = "changed by the caller"
    assert store.read()["defaults"]["image"] == "b", "a caller's change leaked into the cache"
    # Another process writes (a new file replaces the old): the next read sees it.
    store.path.write_text('{"defaults": {"image": "from elsewhere"}}\n', encoding="utf-8")
    assert store.read()["defaults"]["image"] == "from elsewhere"
