"""canfar's logging: levels by name, one line per record on stderr, JSON lines in a file.

Every logger of canfar and of its built-in plugins is a child of ``canfar`` (``canfar.http``,
``canfar.discovery``, ...), so :func:`configure_logging` sets them all. Nothing is configured
until it is called: the built-in ``logging_options`` plugin calls it only when asked
(``--log-level``, ``-v``, ``--debug``, ``--log-file`` or ``CANFAR_LOGLEVEL``), and a Python
program calls it itself (``canfar.configure_logging``). The standard
library's ``logging`` is imported inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canfar_core.errors import ValidationError

if TYPE_CHECKING:
    import logging

#: The level names canfar accepts (any case), lowest to highest.
LEVELS = ("debug", "info", "warning", "error", "critical")
#: The environment variable read when no level is given.
ENV_VAR = "CANFAR_LOGLEVEL"
#: The level used when nothing chooses one: what Python itself shows without configuration.
DEFAULT_LEVEL = "warning"
#: The root of canfar's loggers.
ROOT_LOGGER = "canfar"
#: A log file is rotated at this size, keeping this many old files.
FILE_MAX_BYTES = 10 * 1024 * 1024
FILE_BACKUPS = 10

_NUMBERS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
#: Marks the handlers configure_logging added, so that a second call replaces them.
_OURS = "_canfar_handler"


def parse_level(value: str | int, source: str = "--log-level") -> int:
    """A level name (any case) or number as a number; a clear error naming ``source`` else."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value in _NUMBERS.values():
            return value
    elif isinstance(value, str) and value.strip().lower() in _NUMBERS:
        return _NUMBERS[value.strip().lower()]
    raise ValidationError(
        f"{source}: {value!r} is not a log level (choose one of {', '.join(LEVELS)})"
    )


def level_from_environment(environ: Any = None) -> int | None:
    """The level ``CANFAR_LOGLEVEL`` sets, ``None`` when it is unset or empty."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    return parse_level(value, ENV_VAR) if value else None


def choose_level(
    level: str | int | None = None, verbosity: int = 0, debug: bool = False
) -> int | None:
    """The level the CLI's options ask for, in order of precedence: ``--log-level``, then
    ``--debug``, then ``-v`` (info) / ``-vv`` (debug), then ``CANFAR_LOGLEVEL``. ``None`` when
    none of them is given (nothing needs configuring). ``CANFAR_LOGLEVEL`` is checked only
    when it is the one that decides."""
    if level is not None:
        return parse_level(level)
    if debug or verbosity >= 2:
        return _NUMBERS["debug"]
    if verbosity == 1:
        return _NUMBERS["info"]
    return level_from_environment()


def check_log_file(file: str | os.PathLike[str]) -> Path:
    """The log file as a path; ``-`` and an existing folder are refused."""
    text = os.fspath(file)
    if not text.strip() or text == "-":
        raise ValidationError(f"--log-file: {text!r} is not a file name (give a path)")
    path = Path(text).expanduser()
    if path.is_dir():
        raise ValidationError(f"--log-file: {text} is a folder; give a file path inside it")
    return path


def get_logger(name: str | None = None) -> logging.Logger:
    """canfar's logger, or its child ``name`` (``get_logger("sessions")`` is
    ``canfar.sessions``)."""
    import logging

    if not name or name == ROOT_LOGGER:
        return logging.getLogger(ROOT_LOGGER)
    if name.startswith(ROOT_LOGGER + "."):
        return logging.getLogger(name)
    return logging.getLogger(f"{ROOT_LOGGER}.{name}")


def configure_logging(
    level: str | int | None = None,
    file: str | os.PathLike[str] | None = None,
    *,
    stderr: bool = True,
) -> logging.Logger:
    """Send canfar's log records at ``level`` and above to stderr (one line each) and, when
    ``file`` is given, to that file as JSON lines (rotated at 10 MiB, ten old files kept).

    ``level`` is a name (``debug``, ``info``, ``warning``, ``error``, ``critical``, any case) or
    a number; ``None`` reads ``CANFAR_LOGLEVEL``, then uses ``warning``. A bad level or an
    unusable file name raises :class:`~canfar_core.errors.ValidationError` naming it. Calling it
    again replaces what the previous call set up. Each JSON line holds ``timestamp`` (UTC,
    milliseconds), ``level``, ``logger``, ``message`` and, for an error, ``exception``.
    Returns the ``canfar`` logger.
    """
    import logging

    if level is None:
        number = level_from_environment()
        number = _NUMBERS[DEFAULT_LEVEL] if number is None else number
    else:
        number = parse_level(level, "level")
    path = check_log_file(file) if file is not None else None

    logger = logging.getLogger(ROOT_LOGGER)
    for handler in [h for h in logger.handlers if getattr(h, _OURS, False)]:
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(number)
    logger.propagate = False  # our handlers print it; the root's would print it twice
    if stderr:
        console = logging.StreamHandler()
        console.setFormatter(logging.Formatter("%(name)s: %(levelname)s: %(message)s"))
        _add(logger, console)
    if path is not None:
        try:
            _add(logger, _file_handler(path))
        except OSError as exc:  # the command still runs; only the file is missing
            logger.warning("cannot write the log file %s: %s", path, exc.strerror or exc)
    return logger


def lower_level_to(level: str | int) -> None:
    """Log at ``level`` or below: keeps what :func:`configure_logging` set up (a file) if it
    was called, and calls it otherwise."""
    import logging

    number = parse_level(level, "level")
    logger = logging.getLogger(ROOT_LOGGER)
    if any(getattr(h, _OURS, False) for h in logger.handlers):
        logger.setLevel(min(number, logger.level or number))
    else:
        configure_logging(number)


def _add(logger: logging.Logger, handler: logging.Handler) -> None:
    setattr(handler, _OURS, True)
    logger.addHandler(handler)


def _file_handler(path: Path) -> logging.Handler:
    from logging.handlers import RotatingFileHandler

    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(
        path, maxBytes=FILE_MAX_BYTES, backupCount=FILE_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(_json_lines_formatter())
    return handler


def json_line(record: logging.LogRecord, exception: str | None = None) -> str:
    """One record as one line of JSON: timestamp (UTC, milliseconds), level, logger, message
    and, when there is one, exception."""
    import json
    from datetime import datetime, timezone

    moment = datetime.fromtimestamp(record.created, tz=timezone.utc)
    data = {
        "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
        "level": record.levelname,
        "logger": record.name,
        "message": record.getMessage(),
    }
    if exception:
        data["exception"] = exception
    return json.dumps(data, ensure_ascii=False)


def _json_lines_formatter() -> logging.Formatter:
    import logging

    class JsonLinesFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            exception = None
            if record.exc_info:
                exception = self.formatException(record.exc_info)
            elif record.exc_text:
                exception = record.exc_text
            return json_line(record, exception)

    return JsonLinesFormatter()
