"""Launch and manage sessions: ``from canfar.sessions import Session``.

The same code runs on this machine (the local backend, no login needed) and on the CANFAR
Science Platform after ``canfar auth login``::

    from canfar.sessions import Session

    session = Session()
    ids = session.create(
        name="galaxy-processing-batch",
        kind="headless",
        image="skaha/astroml:latest",
        cmd="python",
        args=["my_script.py"],
        replicas=100,
    )
    session.wait(ids, status="Completed")
    print(session.logs(ids[0]))
    session.destroy(ids)

:class:`AsyncSession` has the same methods as coroutines. Results are the typed records of
:mod:`canfar.models`; failures are the exceptions of :mod:`canfar.errors`.
"""

from __future__ import annotations

from canfar_core.sessions import AsyncSession, Session, WaitTimeout

__all__ = ["AsyncSession", "Session", "WaitTimeout"]
