"""A session follows its notebook: renames, moves and deletions (jupyter_server's contents events)
reach the registry (``registry/notebook_moves.py`` holds the rows' changes). A restarted kernel
getting back its session is the broker's (``SparkBroker.attach``)."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jupyter_server.services.contents.manager import AsyncContentsManager, ContentsManager

    from ..broker.broker import SparkBroker


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
