"""Each session's scratch directory, named after the server process that made it, so a server started
later can sweep those of a server that died without cleaning up (SIGKILL, power cut)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path

PREFIX = "livy-session-"
_OURS = re.compile(rf"^{PREFIX}pid(\d+)-\d+-")


def make_scratch(session_id: int) -> str:
    return tempfile.mkdtemp(prefix=f"{PREFIX}pid{os.getpid()}-{session_id}-")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def sweep_orphaned_scratch() -> list[str]:
    """Remove the scratch directories of local Livy servers that are no longer running."""
    removed = []
    for entry in Path(tempfile.gettempdir()).glob(f"{PREFIX}pid*"):
        match = _OURS.match(entry.name)
        if match and entry.is_dir() and not _alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                shutil.rmtree(entry)
                removed.append(str(entry))
    return removed
