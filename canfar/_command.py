"""The ``canfar`` console script.

``canfar --version`` and ``canfar --help`` are answered here without importing click or any
plugin (the help from :mod:`canfar._help_cache`); everything else goes to
:func:`canfar_core.cli.main`.
"""

from __future__ import annotations

import sys

HELP_FLAGS = (["--help"], ["-h"])
VERSION_FLAGS = (["--version"], ["-V"])


def _print_and_exit(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # `canfar --help | head -1`: the reader went away, which is not an error. Point stdout
        # at nothing so that the interpreter's final flush does not complain either.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


def run() -> None:
    argv = sys.argv[1:]
    if argv in VERSION_FLAGS:
        from canfar_core import __version__

        _print_and_exit(f"canfar {__version__}\n")
    if argv in HELP_FLAGS:
        from canfar import _help_cache as help_cache

        cache_key = help_cache.key()
        text = help_cache.read(cache_key) if cache_key else None
        if text is None:
            text, cacheable = help_cache.render()
            if cacheable and cache_key:
                help_cache.write(cache_key, text)
        _print_and_exit(text)

    from canfar_core.cli import main

    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover - python -m canfar._command
    run()
