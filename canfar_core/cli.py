"""The ``canfar`` command: a click group that plugins fill through ``canfar_register_commands``.

Only the shell lives here: the entry point with its error handling, ``version``, ``plugins``
and ``config``. Everything else (``create``, ``ps``, ``auth``, ...) is contributed by plugins,
the built-in ones included.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from canfar_core import __version__
from canfar_core.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, CanfarError


class CanfarGroup(click.Group):
    """The top-level group: lists commands in alphabetical order, like every click group,
    and names the plugin that contributed a command when two collide."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        name = name or cmd.name
        if name in self.commands:
            raise CanfarError(f"the command '{name}' is already defined")
        super().add_command(cmd, name)


@click.group(
    cls=CanfarGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="canfar", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, envvar="CANFAR_DEBUG", help="Show tracebacks and HTTP traffic (secrets masked).")
@click.option("--context", "context_name", metavar="NAME", envvar="CANFAR_CONTEXT", help="Use this saved context for this command.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, context_name: str | None) -> None:
    """canfar: run code on the CANFAR Science Platform, or on this machine.

    With no login, sessions run on this machine (the local backend); after
    `canfar auth login` they run on the platform. The same commands and the
    same Python API work on both.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["context"] = context_name
    if "NO_COLOR" in os.environ:
        ctx.color = False
    if debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def version(as_json: bool) -> None:
    """Show the version of canfar, Python and the loaded plugins."""
    import platform

    from canfar_core.manager import get_manager
    from canfar_core.output import echo, emit_json

    plugins = {p.name: p.version for p in get_manager().plugins() if not p.builtin}
    data = {"canfar": __version__, "python": platform.python_version(), "plugins": plugins}
    if as_json:
        emit_json(data)
        return
    echo(f"canfar {__version__} (Python {data['python']})")
    for name, plugin_version in plugins.items():
        echo(f"  plugin {name} {plugin_version or ''}".rstrip())


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON: name, version, hooks, builtin.")
def plugins(as_json: bool) -> None:
    """List the loaded plugins and the hooks each implements."""
    from canfar_core.manager import get_manager
    from canfar_core.output import emit_json, info, table

    manager = get_manager()
    found = manager.plugins()
    if as_json:
        emit_json(
            [
                {"name": p.name, "version": p.version, "hooks": p.hooks, "builtin": p.builtin}
                for p in found
            ]
        )
        return
    table(
        [(p.name, p.version or "-", "yes" if p.builtin else "no", ", ".join(p.hooks)) for p in found],
        headers=["NAME", "VERSION", "BUILTIN", "HOOKS"],
    )
    for failure in manager.failures:
        info(f"not loaded: {failure.name}: {failure.error}")


@cli.group()
def config() -> None:
    """Show and change settings (contexts are managed with `canfar auth`)."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def config_show(as_json: bool) -> None:
    """Print the whole configuration (it holds no secrets)."""
    from canfar_core.config import config_file
    from canfar_core.output import echo, emit_json

    data = config_file().read()
    if as_json:
        emit_json(data)
        return
    if not data:
        echo("# no settings yet: canfar uses the local backend and built-in defaults")
    for key, value in _flatten(data):
        echo(f"{key} = {value}")


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for key in sorted(data):
        value = data[key]
        if isinstance(value, dict) and value:
            items.extend(_flatten(value, f"{prefix}{key}."))
        else:
            items.append((f"{prefix}{key}", value))
    return items


@config.command("get")
@click.argument("key")
def config_get(key: str) -> None:
    """Print one setting (a dotted key such as defaults.image)."""
    from canfar_core.config import config_file, get_path
    from canfar_core.errors import NotFound
    from canfar_core.output import echo, emit_json

    try:
        value = get_path(config_file().read(), key)
    except KeyError:
        raise NotFound(f"'{key}' is not set") from None
    if isinstance(value, (dict, list)):
        emit_json(value)
    else:
        echo(str(value))


@config.command("set")
@click.argument("key")
@click.argument("value")
def config_set(key: str, value: str) -> None:
    """Set one setting, for example: canfar config set defaults.image skaha/astroml:latest"""
    from canfar_core.config import config_file, parse_setting, set_path

    parsed = parse_setting(key, value)
    store = config_file()
    data = store.read()
    set_path(data, key, parsed)
    store.write(data)


@config.command("unset")
@click.argument("key")
def config_unset(key: str) -> None:
    """Remove one setting."""
    from canfar_core.config import config_file, unset_path
    from canfar_core.errors import NotFound

    store = config_file()
    data = store.read()
    if not unset_path(data, key):
        raise NotFound(f"'{key}' is not set")
    store.write(data)


@config.command("path")
def config_path() -> None:
    """Print where the configuration, credentials and local state live."""
    from canfar_core.config import CREDENTIALS_NAME, config_file, state_dir
    from canfar_core.output import echo

    path = config_file().path
    echo(f"config       {path}")
    echo(f"credentials  {path.with_name(CREDENTIALS_NAME)}")
    echo(f"state        {state_dir()}")


def build_cli() -> click.Group:
    """The ``canfar`` group with every plugin's commands added."""
    from canfar_core.manager import get_manager

    manager = get_manager()
    for impl in manager.pm.hook.canfar_register_commands.get_hookimpls():
        try:
            impl.function(cli=cli)
        except Exception as exc:  # one broken plugin must not take the whole CLI down
            click.echo(
                f"canfar: warning: plugin '{impl.plugin_name}' could not add its commands: {exc}",
                err=True,
            )
    return cli


def report(exc: BaseException, debug: bool) -> int:
    """Print an error on one line (a traceback only with --debug); return the exit code."""
    if debug:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    if isinstance(exc, CanfarError):
        click.echo(f"Error: {exc}", err=True)
        return exc.exit_code
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    click.echo(f"Error: unexpected {detail} (run with --debug for details)", err=True)
    return EXIT_ERROR


def main(argv: list[str] | None = None) -> int:
    """Run the ``canfar`` command; every failure becomes a one-line message and an exit code."""
    debug = bool(os.environ.get("CANFAR_DEBUG")) or "--debug" in (argv or sys.argv[1:])
    try:
        group = build_cli()
        result = group.main(args=argv, prog_name="canfar", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code if exc.exit_code else EXIT_USAGE
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # canfar ps | head: the reader went away; that is not an error of ours.
        sys.stderr.close()
        return 0
    except Exception as exc:  # every failure is one line unless --debug
        return report(exc, debug)
    return result if isinstance(result, int) else 0


def run() -> None:  # pragma: no cover - the console script
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
