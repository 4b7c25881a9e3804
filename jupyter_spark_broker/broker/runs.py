"""Headless runs: notebooks run by papermill, ``jupyter nbconvert --execute`` or a scheduler, in
kernels that no Jupyter server knows (so nothing tells the broker when they end but the kernel itself).

A run attaches under its run name (the kernel's id, or a name it is given). Its own session is keyed by
the run, so a run never takes an interactive notebook's session, and ends when the run ends: when its
kernel shuts down and detaches, or when its kernel stops beating (killed outright, its host gone).
A session the run only joined (``%spark attach NAME``) is detached, never killed.
"""

from __future__ import annotations

from ..registry.records import AttachmentRecord, SessionRecord


def started_for(record: SessionRecord, attachment: AttachmentRecord) -> bool:
    """Whether ``record`` is the run's own session, which ends with the run of ``attachment``."""
    return attachment.run is not None and record.run == attachment.run
