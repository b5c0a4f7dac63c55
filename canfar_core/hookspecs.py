"""The hooks a canfar plugin can implement. This module is the plugin author's reference.

A plugin is any module or object whose functions carry :data:`canfar_core.hookimpl` and whose
package declares an entry point in the group ``canfar``::

    [project.entry-points.canfar]
    myplugin = "canfar_myplugin"

Registration hooks receive a ``register`` callable, so one plugin can add several things. A name
registered twice is an error that names both plugins. Keep plugin modules cheap to import: canfar
imports them at start-up to list their commands, so import heavy libraries inside the functions
that need them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from canfar_core import hookspec

if TYPE_CHECKING:
    import click

    from canfar_core.contexts import Context
    from canfar_core.models import Register, Server, SessionSpec


@hookspec
def canfar_register_strategies(register: Register) -> None:
    """Add work-distribution strategies, usable by name from ``distributed.split``.

    Call ``register(name, strategy)`` once per strategy. A strategy is a callable
    ``strategy(items, replica, count) -> Iterator`` that returns the share of ``items`` for
    ``replica`` (1-based) out of ``count``. Across replicas ``1..count`` the shares must be
    disjoint, together hold every item exactly once, and keep input order within a share. The
    replica position is validated before the strategy is called; raise ``ValueError`` for items
    the strategy cannot split, before returning the iterator.

    Example::

        @hookimpl
        def canfar_register_strategies(register):
            register("evens-first", lambda items, replica, count: iter(...))
    """


@hookspec
def canfar_register_backends(register: Register) -> None:
    """Add backends: the places where sessions run.

    Call ``register(name, factory)``. ``factory(context)`` is called with the active
    :class:`canfar_core.contexts.Context` and returns an object with the methods of
    :class:`canfar_core.backend.Backend` (subclass it to inherit clear "not available" errors).
    The built-ins are ``local`` (this machine) and ``canfar`` (the Skaha HTTP API). A backend
    that keeps sessions where they can be filtered overrides ``list_matching(kind, statuses)``,
    so that ``canfar ps`` reads only the sessions it shows.

    Example::

        @hookimpl
        def canfar_register_backends(register):
            register("slurm", SlurmBackend)
    """


@hookspec
def canfar_register_auth_providers(register: Register) -> None:
    """Add ways to authenticate to a server.

    Call ``register(name, provider)``; ``provider`` follows
    :class:`canfar_core.auth.AuthProvider`: it attaches credentials to an HTTP session, reports
    who is logged in and until when, and checks expiry before a request is sent. ``token``,
    ``x509`` and ``oidc`` are built in. A context's ``auth`` field names its provider.

    Example::

        @hookimpl
        def canfar_register_auth_providers(register):
            register("kerberos", KerberosProvider())
    """


@hookspec
def canfar_register_session_kinds(register: Register) -> None:
    """Add kinds of session that ``canfar create KIND`` accepts.

    Call ``register(kind)`` with a :class:`canfar_core.models.SessionKind` (or just its name).
    ``notebook``, ``headless``, ``desktop``, ``carta``, ``firefly`` and ``contributed`` are built
    in. A backend may still refuse a kind it cannot run.

    Example::

        @hookimpl
        def canfar_register_session_kinds(register):
            register(SessionKind("vscode", "VS Code in the browser", interactive=True))
    """


@hookspec
def canfar_register_output_formats(register: Register) -> None:
    """Add machine-readable formats for ``-o FORMAT`` (JSON is canfar's own).

    Call ``register(name, write)``. ``write(data) -> str`` is given the document as JSON would
    hold it (dicts, lists, text, numbers, booleans and ``None``; other values already written
    as text) and returns it as text in your format, ending with a line break. Import the
    library that writes it inside ``write``, so that commands that do not ask for it never
    pay for it. The built-in ``yaml_output`` plugin registers ``yaml``.

    Example::

        @hookimpl
        def canfar_register_output_formats(register):
            register("lines", lambda data: "".join(f"{item}\\n" for item in data))
    """


@hookspec
def canfar_register_create_options(register: Register) -> None:
    """Add options to ``canfar create``: ``--NAME``, in a help section named after your plugin.

    Call ``register(name, option)`` with a ``canfar_core.models.CreateOption``: its ``help``,
    ``type`` (str, int, float or bool) and ``default`` (None: no default). The value the user
    gives (else the default) is in ``spec.options[name]`` when ``canfar_prepare_session`` runs
    and when the backend creates the sessions; from Python it is
    ``Session.create(..., options={name: value})``. A plugin that uses its option itself (in
    ``canfar_prepare_session``) pops it from ``spec.options``: an option the user gave, left
    there, that the chosen backend does not use is a warning. A name canfar's ``create`` or
    another plugin already has is reported and skipped. Declare options cheaply: this runs at
    start-up.

    Example::

        @hookimpl
        def canfar_register_create_options(register):
            register("project", CreateOption(help="The allocation to charge."))
    """


@hookspec
def canfar_register_commands(cli: click.Group) -> None:
    """Add click commands or groups to the ``canfar`` command.

    Called once at start-up with the top-level click group; call ``cli.add_command(...)`` or
    decorate functions with ``@cli.command()``. The command appears in ``canfar --help``. Import
    what the command needs inside its function body, not at module level, so that start-up stays
    fast for every other command. Add the same commands every time: which commands exist must
    depend only on your installed package, never on a setting or the environment, because the
    top-level help is cached until a plugin distribution is installed, upgraded or removed.

    Example::

        @hookimpl
        def canfar_register_commands(cli):
            @cli.command()
            def site():
                "Show this site's support contacts."
                click.echo("help@example.org")
    """


@hookspec
def canfar_discover_servers() -> list[Server] | Server | None:
    """Offer extra servers to ``canfar auth login``.

    Return a :class:`canfar_core.models.Server` or a list of them (name, URL, auth mode); they
    are listed beside the servers found in the known registries. Return ``None`` to offer
    nothing. Called only when the user asks to log in, so a network look-up is allowed here (give
    it a short timeout and swallow its failures).

    Example::

        @hookimpl
        def canfar_discover_servers():
            return Server("mysite", "https://sp.example.org/skaha", auth="oidc")
    """


@hookspec
def canfar_prepare_session(spec: SessionSpec) -> None:
    """See or change a session request before it is sent, from the CLI and the Python API alike.

    ``spec`` is a mutable :class:`canfar_core.models.SessionSpec` (``name``, ``kind``, ``image``,
    ``cmd``, ``args``, ``env``, ``replicas``, ``cores``, ``ram``, ``gpus``, ``backend``,
    ``options``). Change it in place: set a default image, add environment variables, lower a
    request. Raise :class:`canfar_core.errors.PolicyError` with a clear message to refuse it: the
    CLI prints the message and exits 1, and the Python API raises it. The request is validated
    again after every plugin has run.

    Example::

        @hookimpl
        def canfar_prepare_session(spec):
            if (spec.cores or 0) > 8:
                raise PolicyError("this site allows at most 8 cores per session")
    """


@hookspec
def canfar_session_launched(spec: SessionSpec, ids: list[str]) -> None:
    """Be told that sessions were launched: ``ids`` are the new session ids, in replica order.

    Called after the backend accepted at least one replica, from the CLI and the Python API. For
    a partial launch, ``ids`` holds only the replicas that launched. Exceptions raised here are
    reported as warnings and never undo the launch.

    Example::

        @hookimpl
        def canfar_session_launched(spec, ids):
            log.info("launched %s as %s", spec.name, ids)
    """


@hookspec
def canfar_register_storage(register: Register) -> None:
    """Add storages that ``canfar data`` and ``canfar.storage`` reach as ``NAME:/PATH``.

    Call ``register(name, factory)``. ``factory(context)`` is called with the active
    :class:`canfar_core.contexts.Context` when the storage is first used and returns an fsspec
    filesystem (``fsspec.AbstractFileSystem``), or ``None`` when the storage does not exist for
    that context. Several plugins may register one name for different contexts: the first
    factory that returns a filesystem wins, third-party plugins first. Building the filesystem
    must not touch the network. ``local`` (this machine), ``arc`` and ``vault`` are built in.

    Example::

        @hookimpl
        def canfar_register_storage(register):
            register("scratch", lambda context: fsspec.filesystem("file"))
    """


@hookspec(firstresult=True)
def canfar_replica_position(environ: Mapping[str, str]) -> tuple[int, int | None] | None:
    """Tell ``distributed`` which replica this process is, under another engine's array jobs.

    Called only when ``REPLICA_ID`` is not set and no replica was passed as an argument. Read
    ``environ`` and return ``(replica, count)`` with ``replica`` 1-based; ``count`` may be
    ``None`` when the engine does not say (it then comes from ``REPLICA_COUNT`` or the caller).
    Return ``None`` when the environment is not yours. The first non-``None`` answer wins, and
    third-party plugins are asked before the built-ins. Raise ``ValueError`` naming the variable
    and its value when a variable you own is malformed. Returning
    ``canfar_core.distribution.PositionAnswer(replica, count, "PBS_ARRAY_INDEX=4")`` instead of
    a plain tuple lets canfar's own errors (a count that is missing or too small) name your
    variable.

    Example::

        @hookimpl
        def canfar_replica_position(environ):
            if "PBS_ARRAY_INDEX" in environ:
                return int(environ["PBS_ARRAY_INDEX"]), None
            return None
    """


@hookspec(firstresult=True)
def canfar_default_context() -> Context | None:
    """Choose where sessions run when nothing else chooses.

    Called when no context is named (``--context``, ``CANFAR_CONTEXT``), none is set by the
    environment (``CANFAR_URL``) and none is saved as active. Return a
    ``canfar_core.contexts.Context`` to run there, or ``None`` to let the next plugin answer;
    with no answer, sessions run on this machine (``local``). To remember the choice, save the
    context first with ``canfar_core.contexts.save_context`` (the next command then finds it
    active and does not ask again), and tell the user on stderr what you did. Raise
    ``canfar_core.errors.ConfigError`` to refuse to choose: the command stops with that message.
    The built-in ``public_client`` plugin answers with a login of the public ``canfar`` client
    found in ``~/.canfar/config.yaml``.

    Example::

        @hookimpl
        def canfar_default_context():
            if os.path.exists("/etc/site/canfar-url"):
                return Context("site", "canfar", url=open("/etc/site/canfar-url").read().strip())
            return None
    """


def hook_names() -> list[str]:
    """Every hook name defined here, in the order of this module."""
    return [name for name in globals() if name.startswith("canfar_")]


def hook_spec(name: str) -> Any:
    """The spec function of hook ``name``."""
    return globals()[name]
