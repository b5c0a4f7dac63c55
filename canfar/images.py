"""The container images a backend offers::

import canfar.images

for image in canfar.images.fetch(kind="headless"):
    print(image.id, image.types)
"""

from __future__ import annotations

from canfar_core.models import Image
from canfar_core.sessions import Session


def fetch(
    kind: str | None = None, context: str | None = None, backend: str | None = None
) -> list[Image]:
    """The images on offer, optionally only those built for one session ``kind``.

    ``context`` names a saved context and ``backend`` a backend, instead of the active one.
    """
    with Session(context=context, backend=backend) as session:
        return session.images(kind=kind)


__all__ = ["Image", "fetch"]
