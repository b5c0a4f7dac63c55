"""What this machine offers a session: CPUs, memory and GPUs."""

from __future__ import annotations

import os
from pathlib import Path

GIB = 1024**3


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except OSError:
            pass
    return os.cpu_count() or 1


def _meminfo(field: str) -> int | None:
    """A ``/proc/meminfo`` field in bytes, or ``None`` where there is no such file."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                if name == field:
                    return int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def total_memory_gb() -> float:
    """Physical memory in GB (GiB, as the platform means it)."""
    total = _meminfo("MemTotal")
    if total is None:
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            total = 0
    return total / GIB


def available_memory_gb() -> float | None:
    """Memory that new work can use without swapping, in GB; ``None`` where unknown."""
    available = _meminfo("MemAvailable")
    return None if available is None else available / GIB


def gpu_count() -> int:
    """NVIDIA GPUs visible as ``/dev/nvidiaN`` devices (0 elsewhere)."""
    try:
        return sum(1 for dev in Path("/dev").glob("nvidia[0-9]*") if dev.name[6:].isdigit())
    except OSError:
        return 0
