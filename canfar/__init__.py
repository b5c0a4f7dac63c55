"""canfar: run code on the CANFAR Science Platform, or on this machine.

The documented imports::

    from canfar.sessions import Session, AsyncSession
    from canfar.errors import CanfarError, LaunchError, NotFound
    from canfar.models import SessionInfo
    import canfar.images, canfar.context
    from canfar.helpers import distributed
"""

from canfar_core._version import __version__

__all__ = ["__version__"]
