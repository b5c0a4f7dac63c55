"""The site's settings: the one file an institute edits when it adapts this package."""

from __future__ import annotations

from dataclasses import dataclass

from canfar_core.models import Server


@dataclass(frozen=True)
class Site:
    """What the plugin knows about the institute it was built for."""

    #: Shown in messages and by ``canfar site``.
    name: str
    #: Offered by ``canfar auth login`` beside the servers canfar finds on its own.
    server: Server
    #: Used when a session request names no image (and the user set no ``defaults.image``).
    default_image: str
    #: The most cores one session may ask for.
    max_cores: float
    #: The most memory one session may ask for, in GB.
    max_ram_gb: float
    #: Set in every session of a kind that takes environment variables, unless the user sets them.
    env: tuple[tuple[str, str], ...]
    #: (what, where) pairs that ``canfar site`` prints; the first is named in refusals.
    contacts: tuple[tuple[str, str], ...]

    @property
    def support(self) -> str:
        return self.contacts[0][1]


SITE = Site(
    name="Example Institute",
    server=Server(
        name="example-institute",
        url="https://sp.example.org/skaha",
        auth="oidc",
        description="Example Institute science platform",
    ),
    default_image="images.example.org/example/astro-base:2026.1",
    max_cores=16,
    max_ram_gb=64,
    env=(("SITE_NAME", "example-institute"),),
    contacts=(
        ("support", "help@example.org"),
        ("documentation", "https://docs.example.org/canfar"),
        ("status", "https://status.example.org"),
    ),
)
