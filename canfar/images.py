"""The container images a backend offers::

    import canfar.images

    for image in canfar.images.fetch(kind="headless"):
        print(image.id, image.types)

or as the platform client documents it::

    from canfar.images import Images

    with Images() as images:
        names = images.fetch(kind="headless")   # list[str]
        for image in images.details():          # list[Image]: id, types, digest
            print(image.id, image.types, image.digest)
"""

from __future__ import annotations

from canfar._client import SessionClient
from canfar.sessions import Session
from canfar_core.models import Image


def fetch(
    kind: str | None = None, context: str | None = None, backend: str | None = None
) -> list[Image]:
    """The images on offer, optionally only those built for one session ``kind``.

    ``context`` names a saved context and ``backend`` a backend, instead of the active one.
    """
    with Session(context=context, backend=backend) as session:
        return session.images(kind=kind)


class Images(SessionClient):
    """The images on offer; takes :class:`~canfar.sessions.Session`'s arguments."""

    def fetch(self, kind: str | None = None) -> list[str]:
        """The image identifiers (``images.canfar.net/skaha/terminal:1.1``), optionally only
        those built for one session ``kind``."""
        return [image.id for image in self.session.images(kind=kind)]

    def details(self, kind: str | None = None) -> list[Image]:
        """The images with their ``id``, ``types`` and ``digest``."""
        return self.session.images(kind=kind)


__all__ = ["Image", "Images", "fetch"]
