"""Memory available to a run, and the check of an experiment's estimate against it at run start.

Example:
    >>> check_memory("toy:count", 1024, available=2**30)
    >>> format_bytes(3 * 2**30)
    '3.0 GiB'
"""

from __future__ import annotations

import os
from pathlib import Path

from labkit.core._errors import LabkitError


def available_memory() -> int | None:
    """Bytes of memory a new allocation can use now (Linux ``MemAvailable``), or None if unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(full_name: str, estimate: int | None, available: int | None = None) -> None:
    """Refuse (:class:`LabkitError`) a run whose estimated memory exceeds what is available."""
    if estimate is None:
        return
    free = available_memory() if available is None else available
    if free is not None and estimate > free:
        raise LabkitError(f"{full_name} with this config needs about {format_bytes(estimate)} of memory (estimate), "
                          f"more than the {format_bytes(free)} available; lower its size fields (see `labkit info`)")


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")
