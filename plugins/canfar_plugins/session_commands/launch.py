"""``canfar create``: canfar's options apart from the user's command, the launch, and the
``--wait`` progress line."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import click

from canfar_core.errors import CanfarError, ValidationError
from canfar_core.validation import (
    ENV_KEY_PATTERN,
    MAX_CORES,
    MAX_GPUS,
    MAX_RAM_GB,
    MAX_REPLICAS,
    check_env,
)
from canfar_plugins._support.machine import current_format, output_option
from canfar_plugins.session_commands.common import (
    Seconds,
    backend_option,
    interrupted,
    one_format,
    quiet_option,
    session_for,
)
from canfar_plugins.session_commands.completion import complete_kinds
from canfar_plugins.session_commands.create_options import given_options
from canfar_plugins.session_commands.waiting import (
    check_wanted,
    default_wanted,
    ended_elsewhere,
    report_not_reached,
    run_with_retries,
    wait_for,
)

if TYPE_CHECKING:
    from canfar.sessions import Session
    from canfar_core.models import SessionInfo, SessionSpec


def split_command_line(
    command: click.Command, ctx: click.Context, args: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Split ``create``'s arguments into canfar's part and the user's command.

    canfar's options may come anywhere before the command. The command starts after ``--``, or
    at the first word after KIND and IMAGE; from there on every word is the user's, even words
    that look like canfar options (``python -c 4`` keeps its ``-c``).
    """
    takes_value: set[str] = set()
    for param in command.get_params(ctx):
        if isinstance(param, click.Option) and not param.is_flag and not param.count:
            takes_value.update(param.opts)
    positionals = 0
    index = 0
    while index < len(args):
        word = args[index]
        if word == "--":
            return list(args[:index]), list(args[index + 1 :])
        if word.startswith("--"):
            if "=" not in word and word in takes_value:
                index += 1  # the option's value, whatever it looks like
        elif word.startswith("-") and len(word) > 1:
            for position in range(1, len(word)):  # a cluster such as -qr 3 or -r3
                if f"-{word[position]}" in takes_value:
                    if position == len(word) - 1:
                        index += 1
                    break
        else:
            positionals += 1
            if positionals == 3:
                return list(args[:index]), list(args[index:])
        index += 1
    return list(args), []


def typed_name(option: click.Option, words: Sequence[str]) -> str:
    """The name the user gave ``option`` by (``--cpu`` for ``--cores``), the last one used;
    its first long name when none is found."""
    longs = [name for name in option.opts if name.startswith("--")]
    shorts = [name for name in option.opts if not name.startswith("--")]
    for word in reversed(words):
        if word == "--":
            continue
        for name in longs:
            if word == name or word.startswith(f"{name}="):
                return name
        if word.startswith("-") and not word.startswith("--"):
            for name in shorts:  # -c4, or the last of a cluster such as -qc 4
                if name[1] in word[1:]:
                    return name
    return (longs or option.opts)[0]


def within_limit(label: str, high: float, *, whole: bool = False) -> Any:
    """A click callback refusing a value out of ``label``'s range, in click's words and naming
    the option as the user typed it: ``Invalid value for '--cpu': cores must be ...``."""
    from canfar_core.validation import check_number

    def check(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
        try:
            check_number(label, value, high, whole=whole)
        except ValidationError as exc:
            raise click.BadParameter(str(exc), ctx, param) from None
        return value

    return check


def within_replicas(ctx: click.Context, param: click.Parameter, value: int) -> int:
    """``--replicas`` within 1..MAX_REPLICAS, refused in click's words as :func:`within_limit`."""
    from canfar_core.validation import check_replicas

    try:
        return check_replicas(value)
    except ValidationError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


class CreateCommand(click.Command):
    """``create``: options anywhere before the user's command, which is never parsed."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        head, tail = split_command_line(self, ctx, args)
        try:
            rest = super().parse_args(ctx, list(head))  # click consumes the list it is given
        except click.BadParameter as exc:
            if isinstance(exc.param, click.Option) and exc.param_hint is None:
                exc.param_hint = f"'{typed_name(exc.param, head)}'"
            raise
        ctx.params["command"] = tail
        return rest

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [*super().collect_usage_pieces(ctx), "[--] [CMD [ARGS]...]"]

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from canfar_plugins.session_commands.create_options import format_sections

        format_sections(self, ctx, formatter)


def parse_env_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``["K=V", ...]`` as a dict; the value may itself contain ``=``."""
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValidationError(f"environment variable '{pair}' must be written KEY=VALUE")
        if not key:
            raise ValidationError(f"--env '{pair}' names no variable: write NAME=VALUE")
        if not ENV_KEY_PATTERN.fullmatch(key):
            raise ValidationError(
                f"environment variable name '{key}' in --env '{pair}' is not valid "
                "(letters, digits and _, not starting with a digit)"
            )
        env[key] = value
    check_env(env)
    return env


def launched_entries(
    spec: SessionSpec, ids: list[str], unlaunched: Collection[int]
) -> list[dict[str, Any]]:
    """Each launched session with its replica number and name, in replica order
    (``unlaunched``: the replicas that failed, may exist, or were never sent)."""
    replicas = [k for k in spec.replica_numbers() if k not in unlaunched]
    if len(replicas) != len(ids):  # a backend that did not keep replica order: names unknown
        return [{"id": sid, "name": None, "replica": None} for sid in ids]
    return [
        {"id": sid, "name": spec.replica_name(k), "replica": k}
        for sid, k in zip(ids, replicas, strict=True)
    ]


def parse_only_replicas(values: Sequence[str], replicas: int) -> list[int] | None:
    """``--only-replicas 3,7 --only-replicas 10-12`` as ``[3, 7, 10, 11, 12]``; ``None`` when
    the option is absent. Each range is checked against ``--replicas`` before it is expanded
    (``1-300000000`` is refused at once); the rest is checked with the request."""
    from canfar_core.validation import check_replicas

    if not values:
        return None
    check_replicas(replicas)
    numbers: list[int] = []
    for value in values:
        for word in value.split(","):
            low, dash, high = word.strip().partition("-")
            try:
                first = int(low)
                last = int(high) if dash else first
            except ValueError:
                raise ValidationError(
                    f"--only-replicas: {word.strip()!r} is not a replica number "
                    "(write them like 3,7 or 10-12)"
                ) from None
            if last < first:
                raise ValidationError(f"--only-replicas: the range {word.strip()} runs backwards")
            for number in (first, last):
                if not 1 <= number <= replicas:
                    raise ValidationError(f"replica {number} is not between 1 and {replicas}")
            if len(numbers) + last - first + 1 > replicas:
                raise ValidationError(
                    f"--only-replicas names more than the {replicas} replicas of --replicas"
                )
            numbers.extend(range(first, last + 1))
    return numbers


def replica_list(numbers: Sequence[int]) -> str:
    """Replica numbers as ``--only-replicas`` reads them, runs shortened: ``3,7,10-12``."""
    parts: list[str] = []
    ordered = sorted(set(numbers))
    start = 0
    for index, number in enumerate(ordered):
        if index + 1 < len(ordered) and ordered[index + 1] == number + 1:
            continue
        first = ordered[start]
        if number == first:
            parts.append(str(first))
        elif number == first + 1:
            parts.extend((str(first), str(number)))
        else:
            parts.append(f"{first}-{number}")
        start = index + 1
    return ",".join(parts)


def relaunch_hint(spec: SessionSpec, numbers: Sequence[int], name_given: bool) -> str:
    """How to launch just these replicas again, with their REPLICA_ID, REPLICA_COUNT and names."""
    chosen = f"--only-replicas {replica_list(numbers)}"
    if name_given:
        return (
            f"To launch only these again: add {chosen} to the same command "
            "(same --name and --replicas)."
        )
    return (
        f"To launch only these again: add --name {spec.name} {chosen} to the same command "
        "(same --replicas)."
    )


@click.command(cls=CreateCommand, short_help="Launch sessions of one kind from an image.")
@click.argument("kind", required=False, shell_complete=complete_kinds)
@click.argument("image", required=False)
@click.option("-n", "--name", metavar="NAME", help="Session name (replicas get NAME-1, NAME-2...).")
@click.option(
    "-r",
    "--replicas",
    type=int,
    default=1,
    metavar="N",
    show_default=True,
    callback=within_replicas,
    help=f"How many copies (1-{MAX_REPLICAS}).",
)
@click.option(
    "--only-replicas",
    "only_replicas",
    multiple=True,
    metavar="K,K...",
    help="Launch only these replicas of --replicas (e.g. 3,7 or 10-12), to re-run failed ones.",
)
@click.option(
    "-c",
    "--cores",
    "--cpu",
    "cores",
    type=float,
    metavar="N",
    callback=within_limit("cores", MAX_CORES),
    help=f"CPU cores per session (up to {MAX_CORES:g}).",
)
@click.option(
    "-m",
    "--ram",
    "--memory",
    "ram",
    type=float,
    metavar="GB",
    callback=within_limit("ram", MAX_RAM_GB),
    help=f"Memory per session, in GB (up to {MAX_RAM_GB:g}).",
)
@click.option(
    "-g",
    "--gpus",
    "--gpu",
    "gpus",
    type=int,
    metavar="N",
    callback=within_limit("gpus", MAX_GPUS, whole=True),
    help=f"GPUs per session (0-{MAX_GPUS}).",
)
@click.option(
    "-e", "--env", "env_pairs", multiple=True, metavar="K=V", help="Environment variable (repeat)."
)
@click.option(
    "-w",
    "--wait",
    is_flag=True,
    help="Wait until every replica has Completed (a notebook or other interactive kind: until "
    "it is Running); exit 1 if one failed.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="With --wait (which it implies): launch each replica that Failed again, up to N "
    "times, with its name and REPLICA_ID.",
)
@click.option(
    "--until",
    metavar="STATUS",
    help="With --wait (which it implies): wait for this status instead (e.g. Running).",
)
@click.option(
    "--timeout",
    type=Seconds(),
    metavar="SECONDS",
    help="Stop --wait after this long.",
)
@click.option("--dry-run", is_flag=True, help="Print the requests that would be sent; send none.")
@backend_option
@output_option
@quiet_option
@click.pass_context
def create(
    ctx: click.Context,
    kind: str | None,
    image: str | None,
    name: str | None,
    replicas: int,
    only_replicas: tuple[str, ...],
    cores: float | None,
    ram: float | None,
    gpus: int | None,
    env_pairs: tuple[str, ...],
    wait: bool,
    retries: int,
    until: str | None,
    timeout: float | None,
    dry_run: bool,
    backend: str | None,
    output: str | None,
    quiet: bool,
    command: list[str],
) -> None:
    """Launch sessions: KIND (headless, notebook, ...) from IMAGE.

    Everything after IMAGE that is not a canfar option is the command a headless session runs,
    passed word for word (put `--` before it to be explicit):

    \b
      canfar create headless skaha/astroml:latest --replicas 10 -- python fit.py --all
      canfar create headless skaha/astroml:latest python -c 'print(4)'
      canfar create notebook skaha/astroml:latest --cores 2 --ram 8
      canfar create headless skaha/astroml:latest --dry-run -- python fit.py

    --cpu, --memory and --gpu are the same as --cores, --ram and --gpus. -o json prints the
    list of new ids (--json is the same).

    KIND and IMAGE may be left out when set with `canfar config set defaults.kind KIND` and
    `defaults.image IMAGE` (then put `--` before the command); `defaults.cores`, `.ram` and
    `.gpus` stand in for --cores, --ram and --gpus:

    \b
      canfar config set defaults.image skaha/astroml:latest
      canfar create headless -- python fit.py

    With --wait, canfar stays until the work is done: a headless session until it has
    Completed (exit 1, naming it, if it Failed), an interactive one until it is Running. Add
    --until Running to stop as soon as headless replicas run; `canfar wait` waits later.

    With --retries N (which implies --wait), each replica that ends Failed is launched again,
    with its name, REPLICA_ID and REPLICA_COUNT, up to N times; a line names each replica that
    needed retries, and the exit code is 0 only when every replica finally completed (-o json:
    one object per replica, with its attempts). See the Batch results page.

    Each replica gets REPLICA_ID (1..N) and REPLICA_COUNT in its environment. To re-run
    replicas that failed, repeat the command with the same --name and --replicas and add
    --only-replicas 3,7: they get the same REPLICA_ID, REPLICA_COUNT and names as before.
    """
    from canfar.sessions import WaitTimeout
    from canfar_core.errors import LaunchError, LaunchInterrupted
    from canfar_core.models import SessionSpec
    from canfar_core.output import echo, info, table
    from canfar_core.validation import check_name
    from canfar_plugins._support.machine import emit

    as_json = output is not None
    one_format(as_json, quiet)
    wanted = None if until is None else check_wanted(until, "--until")
    wait = wait or wanted is not None or retries > 0
    if retries and wanted is not None:
        raise ValidationError("--retries waits for every replica to end: leave out --until")
    if kind is not None and not kind.strip():
        raise ValidationError("a session kind is required (for example headless)")
    if name is not None:  # an empty --name is a slip, not a request for a made-up name
        check_name(name)
    env = parse_env_pairs(env_pairs)
    chosen = parse_only_replicas(only_replicas, replicas)
    session = session_for(ctx, backend)
    spec = SessionSpec(
        kind=kind or "",
        image=image or "",
        name=name or "",
        cmd=command[0] if command else None,
        args=command[1:],
        env=env,
        replicas=replicas,
        only_replicas=chosen,
        cores=cores,
        ram=ram,
        gpus=gpus,
        options=given_options(ctx),
    )
    if dry_run:
        requests = session.preview(spec)
        emit(requests, output or "json")
        plural = "s" if len(requests) != 1 else ""
        info(f"Dry run: {len(requests)} request{plural} shown above; nothing was sent.")
        return
    if retries:
        if default_wanted(session, spec.kind) != "Completed":
            raise ValidationError(f"--retries is for batch sessions, not {spec.kind}")
        run_with_retries(ctx, session, spec, retries, timeout, output, quiet)
        return
    failures: dict[int, str] = {}
    uncertain: dict[int, str] = {}
    not_sent: list[int] = []
    stopped: LaunchInterrupted | None = None
    try:
        ids = session.create(spec, errors="raise")
    except LaunchError as exc:
        whole = exc.__cause__
        if not exc.ids and isinstance(whole, CanfarError) and not isinstance(whole, LaunchError):
            if current_format() is not None:  # the error says what happened to each replica
                failed_all = dict.fromkeys(spec.replica_numbers(), str(whole))
                with_details(whole, launch_document(session, spec, [], failed_all))
            raise whole from None  # the backend refused the launch whole: one line says why
        ids, failures = list(exc.ids), dict(exc.failures)
        uncertain, not_sent = dict(exc.uncertain), list(exc.not_sent)
        if isinstance(exc, LaunchInterrupted):
            stopped = exc
    unlaunched = {*failures, *uncertain, *not_sent}
    launched = launched_entries(spec, ids, unlaunched)
    if not as_json and not quiet and ids and not unlaunched and stopped is None:
        where = session.context.name
        if spec.backend != where:
            where += f" ({spec.backend})"
        plural = "s" if len(ids) != 1 else ""
        kind_info = session.kinds().get(spec.kind)
        follow = "open" if kind_info is not None and kind_info.interactive else "logs -f"
        info(
            f"Launched {len(ids)} {spec.kind} session{plural} on {where}. "
            f"Next: canfar ps, canfar {follow} {ids[0]}"
        )

    states: dict[str, SessionInfo] = {}
    gave_up: CanfarError | None = None
    printed = False
    if wait and ids and not unlaunched and stopped is None:
        wanted = wanted or default_wanted(session, spec.kind)
        if quiet:  # the ids are out before the wait: a Ctrl-C or a kill cannot lose them
            for entry in launched:
                echo(entry["id"])
            printed = True
        try:
            states = wait_for(ctx, session, ids, timeout, wanted, spec)
        except WaitTimeout as exc:  # still print the ids and the states last seen
            states, gave_up = exc.sessions, exc
        except CanfarError as exc:  # the sessions run on: their ids are printed all the same
            gave_up = exc
        except click.exceptions.Exit:  # Ctrl-C during the wait: the ids all the same
            if as_json:
                emit([entry["id"] for entry in launched], output)
            raise
    for entry in launched:
        state = states.get(entry["id"])
        entry["status"] = state.status if state else None
        entry["exit_code"] = state.exit_code if state else None

    if as_json:  # the ids launched, in replica order (what was not: on stderr, exit 1)
        emit([entry["id"] for entry in launched], output)
    elif quiet and not printed:
        for entry in launched:
            echo(entry["id"])
    elif launched and not quiet:
        columns = ["ID", "NAME", *(["STATUS"] if states else [])]
        table(
            [(e["id"], e["name"] or "-", *([e["status"]] if states else [])) for e in launched],
            headers=columns,
        )
    # -o json|yaml: one error object on stderr, holding what the lines would say
    details = (
        launch_document(session, spec, launched, failures, uncertain, not_sent)
        if current_format() is not None
        else None
    )
    if unlaunched and len(spec.replica_numbers()) == 1 and uncertain and stopped is None:
        ((k, reason),) = uncertain.items()  # one launch, one line
        raise with_details(
            CanfarError(f"session {spec.replica_name(k)} may exist: {reason}"), details
        )
    if unlaunched or stopped is not None:
        if details is None:
            report_unlaunched(spec, failures, uncertain, not_sent, name is not None)
        total = len(spec.replica_numbers())
        kept = f"; the {len(ids)} launched keep running" if ids else ""
        if stopped is not None:
            interrupted(
                ctx,
                f"Interrupted: {len(ids)} of {total} replicas launched"
                + (" and keep running (list them with: canfar ps)" if ids else "")
                + (f"; {len(uncertain)} may exist" if uncertain else "")
                + (f"; {len(not_sent)} not sent" if not_sent else ""),
            )
        if uncertain:
            raise with_details(
                CanfarError(
                    f"{len(unlaunched)} of {total} replicas are not known to have launched "
                    f"({len(uncertain)} may exist){kept}"
                ),
                details,
            )
        raise with_details(
            CanfarError(f"{len(unlaunched)} of {total} replicas failed to launch{kept}"), details
        )
    failed = ended_elsewhere(states.values(), wanted or "Running")
    report_not_reached(session, failed, wanted or "Running")
    replica_of = {e["id"]: e["replica"] for e in launched}
    failed_numbers = [replica_of[s.id] for s in failed if replica_of.get(s.id) is not None]
    if failed_numbers and spec.replicas > 1:
        click.echo(relaunch_hint(spec, failed_numbers, name is not None), err=True)
    if gave_up is not None:
        raise gave_up
    if failed:
        raise CanfarError(f"{len(failed)} of {len(ids)} sessions failed")


def with_details(error: CanfarError, details: dict[str, Any] | None) -> CanfarError:
    """``error``, carrying ``details`` into the error object ``-o json`` prints."""
    if details is not None:
        error.details = details  # type: ignore[attr-defined]
    return error


def launch_document(
    session: Session,
    spec: SessionSpec,
    launched: list[dict[str, Any]],
    failures: dict[int, str],
    uncertain: dict[int, str] | None = None,
    not_sent: list[int] | None = None,
) -> dict[str, Any]:
    """The ``details`` of ``create -o json``'s error object when replicas did not launch: every
    launched session, and every replica that was not."""
    return {
        "context": session.context.name,
        "backend": spec.backend,
        "kind": spec.kind,
        "image": spec.image,
        "name": spec.name,
        "sessions": launched,
        "failures": [
            {"replica": k, "name": spec.replica_name(k), "reason": reason}
            for k, reason in sorted(failures.items())
        ],
        "uncertain": [
            {"replica": k, "name": spec.replica_name(k), "reason": reason}
            for k, reason in sorted((uncertain or {}).items())
        ],
        "not_sent": [{"replica": k, "name": spec.replica_name(k)} for k in sorted(not_sent or [])],
    }


def report_unlaunched(
    spec: SessionSpec,
    failures: dict[int, str],
    uncertain: dict[int, str],
    not_sent: list[int],
    name_given: bool,
) -> None:
    """On stderr: each failed replica, each that may exist, those never sent, and a relaunch
    hint that names only replicas known not to exist (following it never makes a duplicate)."""
    for k, reason in sorted(failures.items()):
        click.echo(f"Error: replica {k} ({spec.replica_name(k)}) failed: {reason}", err=True)
    for k, reason in sorted(uncertain.items()):
        click.echo(f"Error: replica {k} ({spec.replica_name(k)}) may exist: {reason}", err=True)
    if not_sent:
        click.echo(f"Not sent (these do not exist): replicas {replica_list(not_sent)}", err=True)
    if uncertain:
        names = " ".join(spec.replica_name(k) for k in sorted(uncertain))
        click.echo(
            f"Look for {names} with: canfar ps -a; launch one again only if it is not listed.",
            err=True,
        )
    absent = [*failures, *not_sent]
    if absent and spec.replicas > 1:
        click.echo(relaunch_hint(spec, absent, name_given), err=True)
