"""Logging: level names, CANFAR_LOGLEVEL, the JSON lines file, and the root options."""

from __future__ import annotations

import json
import re

import pytest

from canfar_core.errors import ValidationError
from canfar_plugins._support.logs import choose_level, configure_logging, get_logger, parse_level


@pytest.mark.parametrize("name", ["debug", "INFO", "Warning", " error ", "critical"])
def test_level_names_are_read_in_any_case(name):
    assert parse_level(name) in (10, 20, 30, 40, 50)


def test_a_bad_environment_level_names_the_variable_and_the_value(monkeypatch):
    monkeypatch.setenv("CANFAR_LOGLEVEL", "loud")
    with pytest.raises(ValidationError, match=r"CANFAR_LOGLEVEL: 'loud' is not a log level"):
        choose_level()


def test_options_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("CANFAR_LOGLEVEL", "not-checked-when-an-option-decides")
    assert choose_level("error") == 40
    assert choose_level(verbosity=1) == 20
    assert choose_level(verbosity=3) == 10
    assert choose_level(debug=True) == 10


def test_nothing_to_configure_without_options_or_environment(monkeypatch):
    monkeypatch.delenv("CANFAR_LOGLEVEL", raising=False)
    assert choose_level() is None


def test_the_file_gets_one_json_object_per_line(tmp_path):
    target = tmp_path / "logs" / "canfar.jsonl"
    configure_logging("info", target, stderr=False)
    log = get_logger("sessions")
    log.debug("below the level")
    log.info("launched %d sessions", 3)
    try:
        raise RuntimeError("boom\nsecond line")
    except RuntimeError:
        log.exception("it failed")
    lines = target.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "launched 3 sessions"
    assert (first["level"], first["logger"]) == ("INFO", "canfar.sessions")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["timestamp"])
    assert "exception" not in first
    assert "RuntimeError: boom" in second["exception"]


def test_configuring_again_replaces_the_handlers(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    configure_logging("info", first, stderr=False)
    configure_logging("info", second, stderr=False)
    get_logger().info("only in the second")
    assert first.read_text() == ""
    assert "only in the second" in second.read_text()


@pytest.mark.parametrize("bad", ["-", ""])
def test_a_log_file_that_is_not_a_file_is_refused(bad):
    with pytest.raises(ValidationError, match="--log-file"):
        configure_logging("info", bad)


def test_get_logger_names_children_of_canfar():
    assert get_logger().name == "canfar"
    assert get_logger("http").name == "canfar.http"
    assert get_logger("canfar.http").name == "canfar.http"


def test_cli_bad_environment_level_is_exit_2(canfar_home, monkeypatch, capsys):
    from canfar_core.cli import main

    monkeypatch.setenv("CANFAR_LOGLEVEL", "chatty")
    assert main(["config", "path"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "CANFAR_LOGLEVEL: 'chatty'" in captured.err


def test_cli_log_file_that_is_a_folder_is_exit_2(canfar_home, tmp_path, capsys):
    from canfar_core.cli import main

    assert main(["--log-file", str(tmp_path), "config", "path"]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_cli_debug_after_the_command_is_the_root_debug(canfar_home, tmp_path, capsys):
    from canfar_core.cli import main

    target = tmp_path / "x.jsonl"
    assert main(["--log-file", str(target), "config", "path", "--debug"]) == 0
    get_logger("probe").debug("debug is on")
    assert "debug is on" in target.read_text()
