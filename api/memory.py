"""A serving worker's heap: how many glibc malloc arenas it may make, and giving freed memory back.

Two things made a worker's resident memory grow under load and stay there: every request thread
got a malloc arena of its own (capped by :func:`cap_malloc_arenas`), and memory freed inside the
arenas is kept by glibc for reuse rather than returned to the system. :class:`IdleTrim` returns
it (``malloc_trim``) once the worker has had no request for a moment, so a burst of traffic does
not leave the worker at its peak. A no-op on a C library other than glibc.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import os
import time
from typing import Any

log = logging.getLogger("api")
M_ARENA_MAX = -8  # glibc's mallopt parameter for the arena limit


def _libc() -> Any | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def cap_malloc_arenas(arenas: int) -> None:
    """At most ``arenas`` glibc malloc arenas in this process (set before its request threads start)
    and in the workers it spawns (through the environment, which glibc reads at their start). A
    no-op on a C library without ``mallopt`` or when ``arenas`` is 0."""
    if arenas <= 0:
        return
    os.environ.setdefault("MALLOC_ARENA_MAX", str(arenas))
    try:
        libc = _libc()
        if libc is not None:
            libc.mallopt(M_ARENA_MAX, int(os.environ["MALLOC_ARENA_MAX"]))
    except (AttributeError, ValueError):  # not glibc: its own allocator, nothing to cap
        pass


class IdleTrim:
    """Call :meth:`idle` when the worker's last request ends: after ``delay_s`` more seconds with no
    request started, freed heap is returned to the system, in a thread (it takes a few
    milliseconds, holding the allocator's locks, so never while requests run)."""

    def __init__(self, delay_s: float) -> None:
        libc = _libc() if delay_s > 0 else None
        self._trim = getattr(libc, "malloc_trim", None)
        self.delay_s = delay_s
        self.busy = 0  # requests running or waiting, as the gate counts them
        self._idle_since = 0.0
        self._trimmed = True  # nothing to give back before the first request
        self.trims = 0

    def enter(self) -> None:
        self.busy += 1
        self._trimmed = False

    def leave(self) -> None:
        self.busy -= 1
        if self.busy or self._trim is None:
            return
        self._idle_since = time.monotonic()
        asyncio.get_running_loop().call_later(self.delay_s, self._maybe_trim, self._idle_since)

    def _maybe_trim(self, since: float) -> None:
        if self.busy or self._trimmed or since != self._idle_since:
            return  # a request came (and went) since: its own idleness will trim
        self._trimmed = True
        asyncio.get_running_loop().run_in_executor(None, self._give_back)

    def _give_back(self) -> None:
        assert self._trim is not None
        started = time.perf_counter()
        self._trim(0)
        self.trims += 1
        log.debug("gave freed heap back to the system in %.1f ms", (time.perf_counter() - started) * 1000)
