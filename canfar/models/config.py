"""``from canfar.models.config import Configuration``: as far as code written for the platform
client needs it here, a holder for a registry login::

    config = Configuration(registry=ContainerRegistry(username="me", secret="CLI_SECRET"))
    with Session(config=config) as session:
        session.create(name="private", image="images.canfar.net/project/private:1", ...)

This project keeps its own settings with ``canfar config`` (see the configuration page); this
class reads and writes no file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from canfar.models.registry import ContainerRegistry


@dataclass
class Configuration:
    """The settings a ``Session`` takes from ``config=``: ``registry`` only."""

    registry: ContainerRegistry = field(default_factory=ContainerRegistry)


__all__ = ["Configuration", "ContainerRegistry"]
