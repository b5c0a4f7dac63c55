"""``canfar site``: the command the institute adds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from canfar_institute_example.settings import SITE

from canfar_core.cli import main


def test_site_shows_server_limits_and_contacts(canfar_home, capsys) -> None:
    assert main(["site"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Example Institute\n")
    for expected in (
        SITE.server.url,
        SITE.default_image,
        "16 cores and 64 GB per session",
        "SITE_NAME=example-institute",
        *(where for _, where in SITE.contacts),
    ):
        assert expected in out


def test_site_json_names_the_launch_log_in_the_state_folder(canfar_home, capsys) -> None:
    assert main(["site", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["limits"] == {"cores": 16, "ram_gb": 64}
    assert shown["contacts"]["support"] == "help@example.org"
    assert Path(shown["launch_log"]) == canfar_home / "state" / "canfar" / "institute-launches.log"


def test_the_installed_command_has_site_and_loses_it_when_disabled(canfar_home) -> None:
    canfar = Path(sys.executable).with_name("canfar")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANFAR_")}
    shown = subprocess.run(
        [str(canfar), "site", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["name"] == SITE.name

    env["CANFAR_DISABLE_PLUGINS"] = "canfar-institute-example"  # the distribution's name
    gone = subprocess.run(
        [str(canfar), "site"], env=env, capture_output=True, text=True, timeout=60
    )
    assert gone.returncode == 2
    assert "No such command 'site'" in gone.stderr
