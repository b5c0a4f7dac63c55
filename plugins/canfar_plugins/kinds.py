"""The session kinds of the CANFAR Science Platform."""

from __future__ import annotations

from canfar_core import hookimpl
from canfar_core.models import Register, SessionKind

BUILTIN_KINDS = (
    SessionKind("notebook", "JupyterLab in the browser"),
    SessionKind(
        "headless", "a batch job: a command, no screen", interactive=False, accepts_command=True
    ),
    SessionKind("desktop", "a Linux desktop in the browser", max_replicas=1),
    SessionKind("carta", "the CARTA image viewer"),
    SessionKind("firefly", "the Firefly image and catalogue viewer", max_replicas=1),
    SessionKind("contributed", "a community-contributed web application"),
)


@hookimpl
def canfar_register_session_kinds(register: Register) -> None:
    for kind in BUILTIN_KINDS:
        register(kind)
