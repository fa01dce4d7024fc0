"""A worker gives freed heap back once idle, never while a request runs (real glibc malloc_trim)."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util

import pytest

from api.memory import IdleTrim

pytestmark = pytest.mark.skipif(
    not hasattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), "malloc_trim"), reason="not glibc"
)


async def test_freed_heap_goes_back_after_the_last_request_and_a_quiet_moment() -> None:
    trim = IdleTrim(0.05)
    trim.enter()
    trim.enter()
    trim.leave()
    await asyncio.sleep(0.15)
    assert trim.trims == 0, "one request still running"
    trim.leave()
    await asyncio.sleep(0.15)
    assert trim.trims == 1
    await asyncio.sleep(0.15)
    assert trim.trims == 1, "nothing freed since: not again"


async def test_a_request_in_the_quiet_moment_puts_the_trim_off() -> None:
    trim = IdleTrim(0.1)
    for _ in range(5):  # one client asking every 40 ms: never idle for 100 ms
        trim.enter()
        trim.leave()
        await asyncio.sleep(0.04)
    assert trim.trims == 0
    await asyncio.sleep(0.2)
    assert trim.trims == 1


async def test_zero_turns_it_off() -> None:
    trim = IdleTrim(0)
    trim.enter()
    trim.leave()
    await asyncio.sleep(0.05)
    assert trim.trims == 0
