"""Running Slurm's commands: argument lists, never a shell, and errors a user can act on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping

from canfar_core.errors import CanfarError, ConnectionFailed

#: How long one Slurm command may take before canfar gives up on it.
TIMEOUT = 120.0
#: What Slurm's commands print when the controller does not answer.
CONTROLLER_DOWN = (
    "Unable to contact slurm controller",
    "Socket timed out on send/recv",
    "Zero Bytes were transmitted or received",
    "Communication connection failure",
)
#: What Slurm's commands print when they find no configuration (no slurm.conf, no DNS record).
NO_CONFIGURATION = (
    "fetch_config",
    "resolve_ctls_from_dns_srv",
    "establish_config_source",
    "Could not establish a configuration source",
)
#: How long ``scontrol ping`` may take.
PING_TIMEOUT = 30.0
#: canfar's own settings and secrets; a job never inherits them from the submitting shell.
CANFAR_ONLY_VARIABLES = frozenset(
    {"CANFAR_TOKEN", "CANFAR_URL", "CANFAR_BACKEND", "CANFAR_CONTEXT", "CANFAR_DEBUG"}
)


class SlurmMissing(CanfarError):
    """A Slurm command is not installed (or not on ``PATH``) where canfar runs."""


class SlurmTimeout(ConnectionFailed):
    """A Slurm command did not finish in time: whether it did what was asked is unknown."""


class SlurmCommandFailed(CanfarError):
    """A Slurm command ran and refused the request; ``output`` is what it printed."""

    def __init__(self, message: str, *, output: str) -> None:
        super().__init__(message)
        self.output = output


def submit_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment sbatch runs in, which jobs inherit: the user's, minus canfar's own."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items() if k not in CANFAR_ONLY_VARIABLES}


def available(command: str) -> bool:
    return shutil.which(command) is not None


def run(argv: list[str], *, stdin: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Run one Slurm command and return its standard output.

    Raises :class:`SlurmMissing` when the command is not installed, ``ConnectionFailed`` when
    the controller does not answer, and :class:`SlurmCommandFailed` with the command's own
    message otherwise.
    """
    command = argv[0]
    try:
        done = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            env=dict(env) if env is not None else None,
            timeout=TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise SlurmMissing(
            f"Slurm's {command} command is not installed here",
            hint="run canfar on a login node of the cluster, or load its Slurm module",
        ) from None
    except subprocess.TimeoutExpired:
        raise SlurmTimeout(
            f"{command} did not answer within {TIMEOUT:g} s; is the Slurm controller up?"
        ) from None
    except OSError as exc:
        raise CanfarError(f"could not run {command}: {exc.strerror or exc}") from None
    if done.returncode == 0:
        return done.stdout
    message = _message(command, done.stderr or done.stdout)
    if _unconfigured(message):
        raise ConnectionFailed(f"{command}: {NO_CONFIGURATION_TEXT}")
    if any(sign.lower() in message.lower() for sign in CONTROLLER_DOWN):
        raise ConnectionFailed(f"the Slurm controller does not answer: {message}")
    raise SlurmCommandFailed(
        message or f"{command} failed (exit {done.returncode})", output=message
    )


def _message(command: str, text: str) -> str:
    """Slurm's error lines as one line: ``sbatch: error: `` prefixes dropped, repeats removed."""
    lines = []
    for raw in text.strip().splitlines():
        line = raw.strip()
        for prefix in (f"{command}: error: ", f"{command}: ", "error: "):
            if line.startswith(prefix):
                line = line[len(prefix) :]
        if line and line not in lines:
            lines.append(line)
    return "; ".join(lines)


NO_CONFIGURATION_TEXT = (
    "no Slurm configuration found on this machine (no slurm.conf, and no DNS record naming "
    "the controller): run canfar on a login node of the cluster"
)


def _unconfigured(text: str) -> bool:
    return any(sign.lower() in text.lower() for sign in NO_CONFIGURATION)


def controller_state() -> str:
    """The controller's state as ``scontrol ping`` reports it (``ctl is UP``).

    Raises ``ConnectionFailed`` with one line when no controller answers, and
    :class:`SlurmMissing` when ``scontrol`` is not installed.
    """
    try:
        done = subprocess.run(
            ["scontrol", "ping"],
            capture_output=True,
            text=True,
            timeout=PING_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise SlurmMissing(
            "Slurm's scontrol command is not installed here",
            hint="run canfar on a login node of the cluster, or load its Slurm module",
        ) from None
    except subprocess.TimeoutExpired:
        raise SlurmTimeout(
            f"the Slurm controller does not answer: scontrol ping took more than {PING_TIMEOUT:g} s"
        ) from None
    text = done.stdout + done.stderr
    states = re.findall(r"at (\S+) is (UP|DOWN)", text)
    if any(state == "UP" for _, state in states):
        return "; ".join(f"{host} is {state}" for host, state in states)
    if states:
        shown = "; ".join(f"{host} is {state}" for host, state in states)
        reason = f"scontrol ping: {shown}"
    elif _unconfigured(text):
        reason = NO_CONFIGURATION_TEXT
    else:
        reason = f"scontrol ping: {_message('scontrol', text)[:200] or f'exit {done.returncode}'}"
    raise ConnectionFailed(
        f"the Slurm controller does not answer ({reason}); sessions cannot run on Slurm "
        "from here until it does"
    )
