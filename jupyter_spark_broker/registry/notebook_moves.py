"""Sessions follow their notebook: the registry's rows when a notebook (or a folder of them) is
renamed, moved or deleted, as jupyter_server's contents events announce it.

A notebook's session is found by its share key ``notebook:{owner}:{path}``; its attachments and its
endpoint binding carry the path too. On a move all three take the new path, so a kernel restart finds
the session again and a new notebook at the old path starts its own. On a delete the session loses
its key (nobody can inherit it) and its attachments end, so the reaper ends it when unused.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from .orm import AttachmentRow, BindingRow, SessionRow, active_key, utcnow
from .share_keys import NOTEBOOK, notebook_key


def move_notebook(db: Session, old: str, new: str) -> list[str]:
    rows = list(db.scalars(select(SessionRow).where(SessionRow.share_key.startswith(NOTEBOOK))))
    moving = [
        (row, target) for row in rows if (target := _moved(_keyed_path(row), old, new)) is not None
    ]
    # A session still keyed to a destination path (attached there through the API, say) gives way:
    # the moved notebook's session is the one that path means from now on.
    destinations = {notebook_key(row.owner, target) for row, target in moving}
    moved_ids = {row.id for row, _ in moving}
    for row in rows:
        if row.share_key in destinations and row.id not in moved_ids:
            _unkey(row)
    db.flush()
    for row, target in moving:
        row.share_key = notebook_key(row.owner, target)
        if row.active_key is not None:
            row.active_key = active_key(row.endpoint, row.share_key)
    for attachment in db.scalars(
        select(AttachmentRow).where(_at_or_under(AttachmentRow.path, old))
    ):
        if (moved := _moved(attachment.path, old, new)) is not None:  # see _at_or_under
            attachment.path = moved
    for binding in db.scalars(select(BindingRow).where(_at_or_under(BindingRow.path, old))):
        if (moved := _moved(binding.path, old, new)) is not None:
            binding.path = moved
    return sorted(moved_ids)


def release_notebook(db: Session, path: str) -> list[str]:
    rows = db.scalars(select(SessionRow).where(SessionRow.share_key.startswith(NOTEBOOK)))
    released = [row for row in rows if _moved(_keyed_path(row), path, path) is not None]
    for row in released:
        _unkey(row)
    now = utcnow()
    for attachment in db.scalars(
        select(AttachmentRow).where(_at_or_under(AttachmentRow.path, path))
    ):
        if _moved(attachment.path, path, path) is None:  # see _at_or_under
            continue
        session = attachment.session
        db.delete(attachment)
        db.flush()
        if not session.attachments:
            session.unattached_since = now
    for binding in db.scalars(select(BindingRow).where(_at_or_under(BindingRow.path, path))):
        if _moved(binding.path, path, path) is not None:
            db.delete(binding)
    return sorted(row.id for row in released)


def _keyed_path(row: SessionRow) -> str | None:
    prefix = notebook_key(row.owner, "")
    key = row.share_key
    return key[len(prefix) :] if key is not None and key.startswith(prefix) else None


def _unkey(row: SessionRow) -> None:
    row.share_key = row.active_key = None


def _moved(path: str | None, old: str, new: str) -> str | None:
    """``path`` once ``old`` (a file, or a folder above it) is at ``new``; None if not under it."""
    if path is None:
        return None
    if path == old:
        return new
    if path.startswith(old.rstrip("/") + "/"):
        return new.rstrip("/") + path[len(old.rstrip("/")) :]
    return None


def _at_or_under(column: InstrumentedAttribute[str], path: str) -> ColumnElement[bool]:
    """A prefilter: SQLite's LIKE ignores case, so ``Dir/`` finds ``dir/x.ipynb`` too; the rows it
    picks are checked again in Python (``_moved``)."""
    folder = path.rstrip("/") + "/"
    return or_(column == path, column.startswith(folder, autoescape=True))
