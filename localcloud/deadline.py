"""The function's Timeout in the in-process mode: the handler is interrupted at its deadline, as Lambda stops an
invocation (the environments mode kills the child process instead, `localcloud.environments`).

On the main thread a SIGALRM timer interrupts the handler even inside `time.sleep`; on another thread the
interruption is raised in that thread at its next Python instruction (a blocking C call finishes first). Either
way the attempt fails with Lambda's `Sandbox.Timedout`, and one that returns (or raises) after its deadline
fails so too.
"""

from __future__ import annotations

import ctypes
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["InvocationTimedOut", "call_with_deadline"]


# A BaseException: an action's `except Exception` cannot keep it from ending the invocation.
class InvocationTimedOut(BaseException):
    """Raised inside a handler at its deadline."""


def call_with_deadline(function: Callable[[], Any], timeout_seconds: float) -> tuple[Any, bool]:
    """Run `function`; (its result, False), or (None, True) when it outlived `timeout_seconds`."""
    started = time.monotonic()
    try:
        if threading.current_thread() is threading.main_thread():
            result = _on_main_thread(function, timeout_seconds)
        else:
            result = _on_other_thread(function, timeout_seconds)
    except InvocationTimedOut:
        return None, True
    except Exception:
        if time.monotonic() - started > timeout_seconds:
            return None, True  # the interruption surfaced as another error (a framework caught it): a timeout still
        raise
    return result, time.monotonic() - started > timeout_seconds


def _on_main_thread(function: Callable[[], Any], timeout_seconds: float) -> Any:
    def alarm(signum: int, frame: FrameType | None) -> None:
        raise InvocationTimedOut

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout_seconds)
    try:
        return function()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _on_other_thread(function: Callable[[], Any], timeout_seconds: float) -> Any:
    target = threading.get_ident()
    done = threading.Event()
    lock = threading.Lock()

    def interrupt() -> None:
        with lock:
            if not done.is_set():
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), ctypes.py_object(InvocationTimedOut))

    timer = threading.Timer(timeout_seconds, interrupt)
    timer.daemon = True
    timer.start()
    try:
        return function()
    finally:
        with lock:
            done.set()
        timer.cancel()
