"""Launch and manage sessions: ``from canfar.sessions import Session``."""

from canfar_core.sessions import AsyncSession, Session

__all__ = ["AsyncSession", "Session"]
