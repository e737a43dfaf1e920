"""Work done in a child process while this one goes on: a document's verification runs on one
core while its rendering runs on the other.

``in_background(work)`` forks; the child runs ``work()`` and sends back its value, or the
exception it raised, which ``Pending.result()`` returns or raises here.  Where there is no
fork (Windows), or nothing to gain, the work is done when its result is asked for.
"""
from __future__ import annotations

import os
import pickle
import threading
import warnings
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class Pending(Generic[T]):
    """Work done when its result is first asked for."""

    def __init__(self, work: Callable[[], T]):
        self._work = work

    def result(self) -> T:
        return self._work()

    def abandon(self) -> None:
        """The work is no longer wanted (something else failed first): it is not done."""


class _Forked(Pending[T]):
    """Work being done in a child process; ``result()`` waits for it."""

    def __init__(self, pid: int, pipe: int):
        self._pid, self._pipe = pid, pipe

    def result(self) -> T:
        with os.fdopen(self._pipe, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self._pid, 0)
        if not data:
            raise RuntimeError(f"the background process ended without a result (wait status {status})")
        done, value = pickle.loads(data)  # written by our own child, just now
        if not done:
            raise value
        return value

    def abandon(self) -> None:
        """The child is waited for; had it failed, its failure came first and is raised."""
        self.result()


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def in_background(work: Callable[[], T], worth_it: bool = True) -> Pending[T]:
    """``work()`` started in a child process (or, without fork or ``worth_it``, kept for later)."""
    if not worth_it or not hasattr(os, "fork") or threading.active_count() > 1:  # fork only a lone thread
        return Pending(work)
    read, write = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12 warns about fork in a process with threads; NumPy's BLAS pool is idle here,
        # and the child touches no lock another thread could hold
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid:
        os.close(write)
        return _Forked(pid, read)
    try:
        os.close(read)
        try:
            outcome = (True, work())
        except BaseException as error:  # handed to the parent, which raises it
            outcome = (False, error)
        try:
            data = pickle.dumps(outcome)
            pickle.loads(data)  # an exception that cannot be rebuilt from its arguments is sent as text
        except Exception:
            failure = outcome[1] if not outcome[0] else None
            data = pickle.dumps((False, RuntimeError(f"{type(failure).__name__}: {failure}" if failure is not None
                                                     else "a background result could not be sent back")))
        with os.fdopen(write, "wb") as pipe:
            pipe.write(data)
    finally:
        os._exit(0)  # whatever happened: no atexit handlers, no second flush of the parent's buffers
