"""``canfar.configure_logging`` and ``canfar.get_logger``: canfar's logging set-up, with
the keyword names of the platform client's documentation accepted too."""

from __future__ import annotations

import logging
import os

from canfar_plugins._support import logs as _log
from canfar_plugins._support.logs import get_logger


def configure_logging(
    loglevel: str | int | None = None,
    file: str | os.PathLike[str] | None = None,
    *,
    verbosity: int = 0,
    log_file: str | os.PathLike[str] | None = None,
    stderr: bool = True,
) -> logging.Logger:
    """Show canfar's log records at ``loglevel`` and above on stderr, and in ``log_file`` (JSON
    lines) when given.

    ``loglevel`` is ``debug``, ``info``, ``warning``, ``error`` or ``critical`` (any case) or a
    number; without it, ``verbosity`` (1 is info, 2 is debug), then ``CANFAR_LOGLEVEL``, then
    ``warning``. A bad value is a :class:`~canfar.errors.ValidationError` naming it. Calling it
    again replaces the previous set-up. Returns the ``canfar`` logger.
    """
    level = loglevel if loglevel is not None else _log.choose_level(None, verbosity)
    return _log.configure_logging(level, log_file if log_file is not None else file, stderr=stderr)


__all__ = ["configure_logging", "get_logger"]
