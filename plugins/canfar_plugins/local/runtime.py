"""Container runtimes: which ones work here, and the command that runs an image in each.

By default a local session runs its command in this machine's own environment (``host``). With
``runtime`` set to ``apptainer``, ``podman`` or ``docker`` (``canfar create --runtime NAME``, or
the ``plugins.local.runtime`` setting) the command runs inside the session's image instead;
``auto`` takes the first of those that works. A runtime counts as usable only when a real probe
succeeds: a ``docker`` client with no engine behind it is not usable.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass

from canfar_core.errors import Unsupported, ValidationError

HOST = "host"
AUTO = "auto"
#: Container runtimes in the order ``auto`` tries them.
CONTAINER_RUNTIMES = ("apptainer", "podman", "docker")
RUNTIMES = (HOST, AUTO, *CONTAINER_RUNTIMES)
#: Where CANFAR's images live; a reference with no registry host is looked up there.
DEFAULT_REGISTRY = "images.canfar.net"
PROBE_TIMEOUT = 15.0

_PROBES = {
    # Each must fail unless the runtime can really start containers.
    "docker": ["docker", "info", "--format", "{{.ServerVersion}}"],
    "podman": ["podman", "info", "--format", "{{.Host.Arch}}"],
    "apptainer": ["apptainer", "--version"],
}


@dataclass(frozen=True)
class Probe:
    """The outcome of probing one runtime: ``usable``, and why not when it is not."""

    name: str
    usable: bool
    detail: str


_cache: dict[str, Probe] = {}
_lock = threading.Lock()


def probe(name: str, refresh: bool = False) -> Probe:
    """Whether runtime ``name`` works on this machine (probed once per process)."""
    if name == HOST:
        return Probe(HOST, True, "this machine's environment")
    with _lock:
        if refresh or name not in _cache:
            _cache[name] = _run_probe(name)
        return _cache[name]


def _run_probe(name: str) -> Probe:
    argv = _PROBES[name]
    if shutil.which(argv[0]) is None:
        return Probe(name, False, f"'{argv[0]}' is not installed")
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Probe(name, False, f"'{' '.join(argv)}' did not answer in {PROBE_TIMEOUT:g} s")
    except OSError as exc:
        return Probe(name, False, f"'{argv[0]}' cannot run: {exc.strerror}")
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {done.returncode}"
        return Probe(name, False, reason)
    return Probe(name, True, (done.stdout.strip().splitlines() or [""])[0])


def choose(requested: str | None) -> str:
    """The runtime to use for ``requested`` (``None`` means ``host``); errors name the reason.

    An unknown name is a :class:`ValidationError`; a runtime that does not work here is
    :class:`Unsupported`, with what its probe said.
    """
    name = (requested or HOST).strip().lower()
    if name not in RUNTIMES:
        raise ValidationError(f"unknown runtime '{requested}' (known: {', '.join(RUNTIMES)})")
    if name == HOST:
        return HOST
    if name == AUTO:
        for candidate in CONTAINER_RUNTIMES:
            if probe(candidate).usable:
                return candidate
        return HOST
    found = probe(name)
    if not found.usable:
        raise Unsupported(
            f"the {name} runtime is not usable on this machine: {found.detail}",
            hint="leave --runtime out to run in this machine's environment",
        )
    return name


def image_reference(image: str) -> str:
    """The full reference a runtime pulls: ``skaha/astroml`` is ``images.canfar.net/skaha/astroml``.

    A reference whose first part names a registry host (it holds ``.`` or ``:``, or is
    ``localhost``) is kept as given, and so is a one-part name (a local image).
    """
    first, sep, _ = image.partition("/")
    if not sep or "." in first or ":" in first or first == "localhost":
        return image
    return f"{DEFAULT_REGISTRY}/{image}"


@dataclass(frozen=True)
class Launch:
    """What one replica runs: the command line, and the container to remove when deleted."""

    argv: list[str]
    container: str | None = None


def container_command(
    runtime: str,
    *,
    session_id: str,
    image: str,
    command: list[str],
    workdir: str,
    env_names: list[str],
    cores: float | None,
    ram: float | None,
    gpus: int | None,
    publish: tuple[int, int] | None = None,
    arc: str | None = None,
) -> Launch:
    """The command line that runs ``command`` in ``image`` with ``runtime``.

    Environment values are never put on the command line: ``env_names`` are passed by name and
    the runtime reads their values from its own environment. The working directory is mounted at
    the same path, so relative paths in ``command`` mean what they mean on this machine.
    ``publish`` maps a loopback port to a container port (for notebooks); ``arc`` is the folder
    mounted at ``/arc``, as the platform mounts its storage.
    """
    ref = image_reference(image)
    if runtime == "apptainer":
        argv = ["apptainer", "exec" if command else "run", "--bind", workdir, "--pwd", workdir]
        if arc:
            argv += ["--bind", f"{arc}:/arc"]
        if gpus:
            argv.append("--nv")
        return Launch([*argv, f"docker://{ref}", *command])
    if runtime not in ("docker", "podman"):
        raise ValueError(f"not a container runtime: {runtime}")
    name = f"canfar-{session_id}"  # see container_name
    argv = [runtime, "run", "--rm", "--name", name, "--label", f"canfar.session={session_id}"]
    argv += ["--workdir", workdir, "--volume", f"{workdir}:{workdir}"]
    if arc:
        argv += ["--volume", f"{arc}:/arc"]
    if runtime == "docker" and hasattr(os, "getuid"):
        # Files the session writes belong to you, as on the platform (podman maps this itself).
        argv += ["--user", f"{os.getuid()}:{os.getgid()}"]
    for key in env_names:
        argv += ["--env", key]
    if cores:
        argv += ["--cpus", f"{cores:g}"]
    if ram:
        argv += ["--memory", f"{max(1, round(ram * 1024))}m"]
    if gpus:
        argv += ["--gpus", str(gpus)] if runtime == "docker" else ["--device", "nvidia.com/gpu=all"]
    if publish:
        argv += ["--publish", f"127.0.0.1:{publish[0]}:{publish[1]}"]
    return Launch([*argv, ref, *command], container=name)


def container_name(runtime: str, session_id: str) -> str | None:
    """The name :func:`container_command` gives a session's container (``None`` where the
    runtime names none)."""
    return f"canfar-{session_id}" if runtime in ("docker", "podman") else None


def remove_container(runtime: str, container: str) -> None:
    """Force-remove a container left behind by a killed client (best effort)."""
    if runtime not in ("docker", "podman") or shutil.which(runtime) is None:
        return
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(
            [runtime, "rm", "--force", container],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
        )
