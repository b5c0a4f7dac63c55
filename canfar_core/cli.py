"""The ``canfar`` command: a click group that plugins fill through ``canfar_register_commands``.

Only the shell lives here: the entry point with its error handling, ``--debug`` and
``--context``. Every command (``create``, ``ps``, ``auth``, ``plugins``, ``version``, the
logging options, ...) is contributed by plugins, the built-in ones included.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import click

from canfar_core import __version__
from canfar_core.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CanfarError,
    ValidationError,
)

#: Who added the commands that no plugin added.
CORE = "canfar core"
#: The ``ctx.meta`` key of a function that makes canfar log at debug level (``--debug`` given
#: after the command), left there by the plugin that configures logging.
DEBUG_LOGGING = "canfar.debug_logging"
_TRUE_WORDS = ("1", "true", "t", "yes", "y", "on")


class CanfarGroup(click.Group):
    """The top-level group: remembers which plugin added each command, so that a name added
    twice is an error naming both, and so that the plugins' commands can be added afresh."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The plugin that added each command, by command name.
        self.owners: dict[str, str] = {}
        self._adding_for = CORE

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        name = name or cmd.name or ""
        if name in self.commands:
            raise CanfarError(
                f"the command '{name}' is added twice: "
                f"by {_who(self.owners.get(name, CORE))} and by {_who(self._adding_for)}"
            )
        super().add_command(cmd, name)
        self.owners[name] = self._adding_for

    @contextlib.contextmanager
    def adding_for(self, plugin: str) -> Iterator[None]:
        """Attribute the commands added inside the block to ``plugin``."""
        self._adding_for = plugin
        try:
            yield
        finally:
            self._adding_for = CORE

    def remove_plugin_commands(self) -> None:
        """Drop every command a plugin added (the core's stay)."""
        for name, owner in list(self.owners.items()):
            if owner != CORE:
                self.commands.pop(name, None)
                del self.owners[name]


def _who(owner: str) -> str:
    return owner if owner == CORE else f"plugin '{owner}'"


@click.group(
    cls=CanfarGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    invoke_without_command=True,  # so that `canfar` alone behaves the same under every click
    subcommand_metavar="COMMAND [ARGS]...",
)
@click.version_option(
    __version__, "-V", "--version", prog_name="canfar", message="%(prog)s %(version)s"
)
@click.option(
    "--debug",
    is_flag=True,
    envvar="CANFAR_DEBUG",
    help="Show tracebacks and HTTP traffic (secrets masked).",
)
@click.option(
    "--context",
    "context_name",
    metavar="NAME",
    envvar="CANFAR_CONTEXT",
    help="Use this saved context for this command.",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, context_name: str | None) -> None:
    """canfar: run code on the CANFAR Science Platform, or on this machine.

    With no login, sessions run on this machine (the local backend); after
    `canfar auth login` they run on the platform. The same commands and the
    same Python API work on both. The public client's names (login, server,
    image ls, feedback, ...) work too: see each command's help.
    """
    if ctx.invoked_subcommand is None:  # `canfar` alone: a usage error that shows the help
        click.echo(ctx.get_help(), err=True)
        ctx.exit(EXIT_USAGE)
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["context"] = context_name
    if "NO_COLOR" in os.environ:
        ctx.color = False


#: Set when ``--debug`` comes after a command (``canfar ps --debug``).
_late_debug = False


def _debug_after_command(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    global _late_debug
    if value and not _late_debug:
        _late_debug = True
        obj = ctx.find_root().obj
        if isinstance(obj, dict):
            obj["debug"] = True
        debug_logging = ctx.meta.get(DEBUG_LOGGING)  # left by the plugin that sets up logging
        if callable(debug_logging):
            debug_logging()


def accept_debug_anywhere(command: click.Command) -> None:
    """Give ``command`` (and, for a group, each of its commands) a hidden ``--debug`` and
    ``--context`` that do what the root ones do, so that they may come after the command as
    well as before."""
    if not any(param.name == "late_debug" for param in command.params):
        command.params.append(
            click.Option(
                ["--debug", "late_debug"],
                is_flag=True,
                hidden=True,
                expose_value=False,
                callback=_debug_after_command,
            )
        )
    if not any(param.name == "late_context" for param in command.params):
        command.params.append(
            click.Option(
                ["--context", "late_context"],
                metavar="NAME",
                hidden=True,
                expose_value=False,
                callback=_context_after_command,
            )
        )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_debug_anywhere(sub)


def _context_after_command(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """``canfar logs --context NAME ID``: the same as ``canfar --context NAME logs ID``."""
    if value is not None:
        obj = ctx.find_root().obj
        if isinstance(obj, dict):
            obj["context"] = value


def build_cli() -> click.Group:
    """The ``canfar`` group with the commands of every loaded plugin added.

    Each call adds the plugins' commands afresh, so a plugin registered or removed since the
    last call (in a test, say) is reflected. A plugin whose hook fails is named in one warning
    on stderr and the others' commands are still added.
    """
    from canfar_core.manager import get_manager

    group = cli
    assert isinstance(group, CanfarGroup)
    group.remove_plugin_commands()
    for impl in get_manager().pm.hook.canfar_register_commands.get_hookimpls():
        if impl.hookwrapper or getattr(impl, "wrapper", False):
            continue
        try:
            with group.adding_for(impl.plugin_name):
                impl.function(cli=group)
        except Exception as exc:  # one broken plugin must not take the whole CLI down
            click.echo(
                f"canfar: warning: plugin '{impl.plugin_name}' could not add its commands: "
                f"{_one_line(exc)}",
                err=True,
            )
    for command in group.commands.values():
        accept_debug_anywhere(command)
    return group


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, CanfarError):
        return str(exc)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def report(exc: BaseException, debug: bool) -> int:
    """Print an error on one line, or under ``-o`` as one object (a traceback only with
    --debug); return the exit code."""
    if debug:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    from canfar_core import output

    if output.machine_format():
        output.report_error(exc)
    elif isinstance(exc, CanfarError):
        click.echo(f"Error: {output.printable(str(exc))}", err=True)
    else:
        text = output.printable(_one_line(exc))
        click.echo(f"Error: unexpected {text} (run with --debug for details)", err=True)
    return exc.exit_code if isinstance(exc, CanfarError) else EXIT_ERROR


def _debug_requested(args: list[str]) -> bool:
    if os.environ.get("CANFAR_DEBUG", "").strip().lower() in _TRUE_WORDS:
        return True
    own = args[: args.index("--")] if "--" in args else args  # not the user's command's flags
    return "--debug" in own


def _check_utf8(args: list[str]) -> None:
    """Refuse canfar's own arguments that are not UTF-8 text (the bytes of another encoding),
    or that hold a NUL byte (no command line can carry one: only an in-process caller can).

    They could not be saved in the config, the local database or a request. The words after
    ``--`` are a replica's own command and are passed on byte for byte.
    """
    from canfar_core.validation import check_utf8

    own = args[: args.index("--")] if "--" in args else args
    for arg in own:
        if "\x00" in arg:
            raise ValidationError(f"the argument {arg!r} holds a NUL byte")
        check_utf8("the argument", arg)


def _exit_code(code: object) -> int:
    """The exit status ``sys.exit(code)`` would give."""
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    click.echo(str(code), err=True)
    return EXIT_ERROR


def _quiet_stdout() -> None:
    """After a broken pipe, send what is left for stdout nowhere, so exit stays silent."""
    with contextlib.suppress(Exception):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    """Run the ``canfar`` command; every failure becomes a one-line message and an exit code.

    Usage errors exit 2, Ctrl-C exits 130, other failures the ``exit_code`` of their
    :class:`~canfar_core.errors.CanfarError` (1 for anything unexpected). A traceback is printed
    only with ``--debug`` or ``CANFAR_DEBUG=1``.
    """
    global _late_debug
    _late_debug = False
    args = sys.argv[1:] if argv is None else list(argv)
    debug = _debug_requested(args)
    from canfar_core import output

    output.forget_warnings()
    stdout = sys.stdout
    try:
        output.set_machine_format(output.format_in_argv(args))
        _check_utf8(args)
        group = build_cli()
        result = group.main(args=args, prog_name="canfar", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort as exc:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, KeyboardInterrupt):
            _tell(exc, "Interrupted.")
            return EXIT_INTERRUPTED
        if isinstance(cause, EOFError):
            _tell(exc, "Error: no answer (standard input is closed)")
        else:
            _tell(exc, "Aborted.")
        return EXIT_ERROR
    except click.ClickException as exc:
        if output.machine_format():
            output.report_error(exc)
        else:
            exc.show()
        return exc.exit_code
    except KeyboardInterrupt as exc:
        _tell(exc, "Interrupted.")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # canfar ps | head: the reader went away; that is not an error of ours.
        _quiet_stdout()
        return EXIT_OK
    except SystemExit as exc:  # sys.exit() in a plugin, or click after a broken pipe
        if getattr(sys.stdout, "wrapped", None) is stdout:  # click wraps stdout on EPIPE
            _quiet_stdout()
            return EXIT_OK
        return _exit_code(exc.code)
    except Exception as exc:  # every failure is one line unless --debug
        return report(exc, debug)
    finally:
        output.set_machine_format(None)
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    return EXIT_OK


def _tell(exc: BaseException, human: str) -> None:
    """``human`` on stderr, or the error object in machine mode."""
    from canfar_core import output

    if output.machine_format():
        message = human.removeprefix("Error: ").rstrip(".")
        output.report_error(exc, message[:1].lower() + message[1:])
    else:
        click.echo(human, err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
