"""Tie a process's life to its parent's: no local Livy or session worker outlives what started it."""

from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """Linux: receive ``signum`` when the parent dies, however it dies (SIGKILL included).

    The kernel sends it when the parent *thread* that forked us exits, so parents spawn from a
    long-lived thread. Elsewhere this does nothing, and closed pipes remain the fallback.
    """
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signum)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the call took effect
        os.kill(os.getpid(), signum)
