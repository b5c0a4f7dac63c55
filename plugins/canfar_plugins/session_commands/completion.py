"""``canfar completion``, and the completers of the session commands' arguments and options.

Every completer gives up quietly: completion never prints an error into the user's shell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from canfar_core.errors import CanfarError, ValidationError

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from canfar_core.models import SessionInfo

#: Seconds shell completion waits for the backend before offering nothing.
COMPLETION_TIMEOUT = 2.0


def _registered(registry: str, incomplete: str) -> list[str]:
    """The names in one of the plugins' registries that start with ``incomplete``."""
    try:
        from canfar_core.manager import get_manager

        names = get_manager().registry(registry).names()
    except Exception:
        return []
    return [name for name in names if name.startswith(incomplete)]


def complete_backends(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Registered backend names, for ``--backend``."""
    return _registered("backends", incomplete)


def complete_kinds(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Registered session kinds, for ``create KIND`` and ``--kind``."""
    return _registered("session_kinds", incomplete)


def complete_session_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Session ids from the active backend's listing, given up after a short timeout."""
    import threading

    from click.shell_completion import CompletionItem

    found: list[SessionInfo] = []
    root = ctx.find_root()
    context_name = root.params.get("context_name")
    backend = ctx.params.get("backend")

    def listing() -> None:
        try:
            from canfar.sessions import Session

            found.extend(Session(context=context_name, backend=backend).fetch())
        except Exception:  # completion never prints errors into the user's shell
            pass

    worker = threading.Thread(target=listing, daemon=True)
    worker.start()
    worker.join(COMPLETION_TIMEOUT)
    given = ctx.params.get(param.name or "") or ()
    given = {given} if isinstance(given, str) else set(given)
    return [
        CompletionItem(s.id, help=f"{s.name} ({s.status})")
        for s in list(found)
        if s.id.startswith(incomplete) and s.id not in given
    ]


def complete_context_names(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[str]:
    """Saved context names, for the group's ``--context``."""
    try:
        from canfar_core.contexts import LOCAL, saved_contexts

        names = [LOCAL, *(name for name in saved_contexts() if name != LOCAL)]
    except Exception:
        return []
    return [name for name in names if name.startswith(incomplete)]


@click.command(short_help="Print the shell completion script for bash, zsh or fish.")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL; session ids complete from `canfar ps`.

    \b
      bash:  eval "$(canfar completion bash)"            (in ~/.bashrc)
      zsh:   eval "$(canfar completion zsh)"             (in ~/.zshrc)
      fish:  canfar completion fish > ~/.config/fish/completions/canfar.fish
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click knows the three shells offered
        raise ValidationError(f"no completion for shell '{shell}'")
    root = ctx.find_root().command
    try:
        script = cls(root, {}, "canfar", "_CANFAR_COMPLETE").source()
    except OSError as exc:  # click runs the shell to check its version
        raise CanfarError(
            f"cannot make the {shell} completion script: {exc.strerror or exc} "
            f"({exc.filename or shell}); is {shell} installed and on PATH?"
        ) from None
    click.echo(script)
