"""The hooks: the whole of what the institute adds to canfar.

canfar imports this module at start-up (``canfar --help`` lists ``canfar site``), so it imports
nothing heavy: ``click``, ``json`` and ``platformdirs`` are imported inside the functions that
use them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from canfar_core import hookimpl
from canfar_core.errors import PolicyError
from canfar_institute_example.settings import SITE

if TYPE_CHECKING:
    import click

    from canfar_core.models import Server, SessionSpec

#: The file, in canfar's state folder, that gets one JSON line per launch.
LOG_NAME = "institute-launches.log"


def launch_log() -> Path:
    """Where launches are logged: canfar's state folder (``$XDG_STATE_HOME/canfar`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_state_dir("canfar", appauthor=False)) / LOG_NAME


def _over(requested: object, cap: float) -> bool:
    """Whether a request exceeds a cap; malformed values are left for canfar's own validation,
    which names them."""
    return (
        isinstance(requested, (int, float)) and not isinstance(requested, bool) and requested > cap
    )


def _takes_environment(kind: str) -> bool:
    from canfar_core.manager import get_manager

    kinds = get_manager().registry("session_kinds")
    return kind in kinds and bool(kinds.get(kind).accepts_command)


@hookimpl
def canfar_discover_servers() -> Server:
    """Offer the site's own server to ``canfar auth login``."""
    return SITE.server


@hookimpl
def canfar_prepare_session(spec: SessionSpec) -> None:
    """Fill in the site's default image, refuse oversize requests, add the site's variables."""
    if not spec.image:
        spec.image = SITE.default_image
    limits = (
        ("cores", spec.cores, SITE.max_cores, "cores"),
        ("ram", spec.ram, SITE.max_ram_gb, "GB"),
    )
    for label, requested, cap, unit in limits:
        if _over(requested, cap):
            raise PolicyError(
                f"{label} {requested:g} is over the {SITE.name} limit of {cap:g} {unit} "
                f"per session; ask {SITE.support} if you need more"
            )
    if _takes_environment(spec.kind):
        for key, value in SITE.env:
            spec.env.setdefault(key, value)


@hookimpl
def canfar_session_launched(spec: SessionSpec, ids: list[str]) -> None:
    """Append one JSON line per launch to the launch log (never the environment's values)."""
    import datetime
    import getpass
    import json

    try:
        user: str | None = getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        user = None
    record = {
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "user": user,
        "backend": spec.backend,
        "kind": spec.kind,
        "name": spec.name,
        "image": spec.image,
        "replicas": spec.replicas,
        "cores": spec.cores,
        "ram": spec.ram,
        "gpus": spec.gpus,
        "env_keys": sorted(spec.env),
        "ids": list(ids),
    }
    path = launch_log()
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write of one line in append mode: concurrent launches never interleave.
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")


def site_summary() -> dict[str, Any]:
    """What ``canfar site --json`` prints."""
    return {
        "name": SITE.name,
        "server": {"name": SITE.server.name, "url": SITE.server.url, "auth": SITE.server.auth},
        "default_image": SITE.default_image,
        "limits": {"cores": SITE.max_cores, "ram_gb": SITE.max_ram_gb},
        "env": dict(SITE.env),
        "contacts": dict(SITE.contacts),
        "launch_log": str(launch_log()),
    }


@hookimpl
def canfar_register_commands(cli: click.Group) -> None:
    """Add ``canfar site``."""
    import click

    @cli.command("site")
    @click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
    def site(as_json: bool) -> None:
        """Show this site's server, defaults, limits and contacts."""
        from canfar_core.output import echo, emit_json

        summary = site_summary()
        if as_json:
            emit_json(summary)
            return
        server = summary["server"]
        rows = [
            ("server", f"{server['url']} ({server['name']}, {server['auth']} login)"),
            ("default image", summary["default_image"]),
            ("limits", f"{SITE.max_cores:g} cores and {SITE.max_ram_gb:g} GB per session"),
            ("environment", " ".join(f"{k}={v}" for k, v in SITE.env) + " (headless sessions)"),
            *SITE.contacts,
            ("launch log", summary["launch_log"]),
        ]
        echo(SITE.name)
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            echo(f"  {label.ljust(width)}  {value}")
