"""Sessions follow their notebook: the registry's rows when a notebook (or a folder of them) is
renamed, moved or deleted, as jupyter_server's contents events announce it.

A notebook's session is found by its share key ``notebook:{owner}:{path}``; its attachments and its
endpoint binding carry the path too. On a move all three take the new path, so a kernel restart finds
the session again and a new notebook at the old path starts its own. On a delete the session loses
its key (nobody can inherit it) and its attachments end, so the reaper ends it when unused.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .orm import AttachmentRow, BindingRow, SessionRow, active_key, utcnow

NOTEBOOK_KEY = "notebook:"


def move_notebook(db: Session, old: str, new: str) -> list[str]:
    rows = list(db.scalars(select(SessionRow).where(SessionRow.share_key.startswith(NOTEBOOK_KEY))))
    moving = [(row, _moved(_keyed_path(row), old, new)) for row in rows]
    moving = [(row, target) for row, target in moving if target is not None]
    # A session still keyed to a destination path (attached there through the API, say) gives way:
    # the moved notebook's session is the one that path means from now on.
    destinations = {_key(row.owner, target) for row, target in moving}
    moved_ids = {row.id for row, _ in moving}
    for row in rows:
        if row.share_key in destinations and row.id not in moved_ids:
            _unkey(row)
    db.flush()
    for row, target in moving:
        row.share_key = _key(row.owner, target)
        if row.active_key is not None:
            row.active_key = active_key(row.endpoint, row.share_key)
    for attachment in db.execute(
        select(AttachmentRow).where(_at_or_under(AttachmentRow.path, old))
    ):
        attachment[0].path = _moved(attachment[0].path, old, new)
    for binding in db.execute(select(BindingRow).where(_at_or_under(BindingRow.path, old))):
        binding[0].path = _moved(binding[0].path, old, new)
    return sorted(moved_ids)


def release_notebook(db: Session, path: str) -> list[str]:
    rows = db.scalars(select(SessionRow).where(SessionRow.share_key.startswith(NOTEBOOK_KEY)))
    released = [row for row in rows if _moved(_keyed_path(row), path, path) is not None]
    for row in released:
        _unkey(row)
    now = utcnow()
    for (attachment,) in db.execute(
        select(AttachmentRow).where(_at_or_under(AttachmentRow.path, path))
    ):
        session = attachment.session
        db.delete(attachment)
        db.flush()
        if not session.attachments:
            session.unattached_since = now
    for binding in db.scalars(select(BindingRow).where(_at_or_under(BindingRow.path, path))):
        db.delete(binding)
    return sorted(row.id for row in released)


def _key(owner: str, path: str) -> str:
    return f"{NOTEBOOK_KEY}{owner}:{path}"


def _keyed_path(row: SessionRow) -> str | None:
    prefix = _key(row.owner, "")
    return row.share_key[len(prefix) :] if row.share_key.startswith(prefix) else None


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


def _at_or_under(column, path: str):
    folder = path.rstrip("/") + "/"
    return or_(column == path, column.startswith(folder, autoescape=True))
