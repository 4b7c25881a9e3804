"""What ends with a session: its attachments. A notebook attached to a killed, dead or lost session
is attached to nothing; listing it as attached would show the notebook on a session that no longer
runs (until the reaper noticed its kernel had gone)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import metrics

if TYPE_CHECKING:
    from .broker import SparkBroker
    from .registry import SessionRecord


async def end_attachments(broker: SparkBroker, session: SessionRecord, *, actor: str) -> None:
    """Detach every notebook from ``session``, which has ended; each is a "detached" in the audit
    trail, after the session's own end (its state change, or "killed")."""
    attachments, _ = await broker.registry.attachments(session_id=session.id)
    reason = f"its session ended: {session.state}"
    for attachment in attachments:
        if await broker.registry.detach(attachment.id) is not None:  # not detached meanwhile
            broker.events.detached(session, attachment, actor=actor, reason=reason)
            metrics.DETACHES.labels("session_ended").inc()
