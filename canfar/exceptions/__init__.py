"""The exception modules of the platform client's documentation, for code written for it.

``canfar.exceptions.session.SessionRequestError`` and ``canfar.exceptions.context``'s
authentication errors are this project's own classes (see :mod:`canfar.errors`, where every
exception lives): catching them works, and so does catching :class:`~canfar.errors.CanfarError`.
"""
