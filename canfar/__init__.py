"""canfar: run code on the CANFAR Science Platform, or on this machine.

The documented imports::

    from canfar.sessions import Session, AsyncSession
    from canfar.helpers import distributed
"""

from canfar_core._version import __version__

__all__ = ["__version__"]
