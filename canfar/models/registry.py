"""``from canfar.models.registry import ContainerRegistry``: a private image registry's login,
as the platform client's documentation passes it to ``Session(config=...)``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ContainerRegistry:
    """A registry login: ``username`` and ``secret`` (the registry's CLI secret). The secret is
    never shown in the ``repr``. It is sent with launches only, never saved."""

    username: str | None = None
    secret: str | None = field(default=None, repr=False)
