"""The broker's side of "a session follows its notebook": a restarted kernel gets back its session,
and renames, moves and deletions (jupyter_server's contents events) reach the registry
(``notebook_moves.py`` holds the rows' changes)."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the broker imports this module
    from jupyter_server.services.contents.manager import AsyncContentsManager, ContentsManager

    from .broker import SparkBroker
    from .registry import AttachmentRecord, SessionRecord


async def kept_attachment(
    broker: SparkBroker, user: str, path: str, kernel_id: str, endpoint: str | None
) -> tuple[AttachmentRecord, SessionRecord] | None:
    """A restarted kernel keeps its id: the live session it was attached to, even one it joined
    by name (``%spark attach NAME``), rather than the notebook's own."""
    attachments, _ = await broker.registry.attachments(path=path, owner=user)
    for attachment in sorted(attachments, key=lambda a: a.last_seen, reverse=True):
        if attachment.kernel_id != kernel_id:
            continue
        record = await broker.registry.get_session(attachment.session_id)
        if record is None or record.is_finished or endpoint not in (None, record.endpoint):
            continue
        refreshed = await broker.registry.attach(record.id, path, kernel_id, user, broker.server_id)
        return refreshed, record
    return None


async def contents_confirm(
    contents: ContentsManager | AsyncContentsManager, old: str, new: str | None
) -> bool:
    """Whether the contents manager agrees that ``old`` was moved to ``new`` (deleted, for None):
    ``old`` is gone and ``new`` is there. A contents event proves nothing by itself, since any user
    allowed on the event bus may emit one (``POST /api/events``)."""

    async def exists(path: str) -> bool:
        found = contents.exists(path)
        return bool(await found if inspect.isawaitable(found) else found)

    if await exists(old):
        return False
    return new is None or await exists(new)


async def notebook_moved(broker: SparkBroker, old: str, new: str) -> None:
    """Its sessions, attachments and endpoint binding follow the notebook (or folder). The
    broker's cached rows catch up at the state poller's next round."""
    await broker.registry.move_notebook(old, new)


async def notebook_deleted(broker: SparkBroker, path: str) -> None:
    """Its sessions are released: no notebook inherits them, the reaper ends them unused."""
    await broker.registry.release_notebook(path)
