"""The broker's registry: sessions, attachments, notebook bindings and run-time endpoints.

Any SQLAlchemy URL works; SQLite is the default (its file created mode 0600). Every database call runs
on one worker thread, never on the event loop, and returns plain frozen records, not ORM objects. The
schema is Alembic's, brought to the newest revision under a lock when the registry opens
(:mod:`.registry_schema`).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import create_engine, delete, event, func, select, update
from sqlalchemy.engine import CursorResult, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Select

from ..livy.names import RECORD_FINISHED_STATES as FINISHED_STATES
from .notebook_moves import move_notebook, release_notebook
from .orm import (
    AttachmentRow,
    BindingRow,
    EndpointLeaseRow,
    EndpointRow,
    ServerRow,
    SessionRow,
    active_key,
    utcnow,
)
from .records import (
    AttachmentRecord,
    SessionFields,
    SessionRecord,
    new_id,
)
from .records import (
    attachment_record as _attachment_record,
)
from .records import (
    session_record as _session_record,
)
from .schema import RegistryError, current_revision, upgrade

if TYPE_CHECKING:
    from typing import Unpack  # Python 3.11

T = TypeVar("T")
RowT = TypeVar("RowT")


class ShareKeyTaken(Exception):
    """Another live session already holds this endpoint + share key."""


class Registry:
    def __init__(self, url: str):
        self.url = url
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spark-broker-db")
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def open(self) -> None:
        try:
            await self._run(self._open)
        except BaseException:
            await self.close()
            raise

    def _open(self) -> None:
        url = make_url(self.url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            _create_private_file(Path(url.database))
        self._engine = create_engine(url, pool_pre_ping=True)
        if url.get_backend_name() == "sqlite":
            event.listen(self._engine, "connect", _sqlite_pragmas)
        upgrade(self._engine)  # under a lock: several servers may open one registry at once
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)

    async def close(self) -> None:
        if self._engine is not None:
            await self._run(self._engine.dispose)
        self._executor.shutdown(wait=True)

    async def _run(self, function: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, function)

    def _session(self) -> Session:
        assert self._sessions is not None, "Registry.open() was not awaited"
        return self._sessions()

    async def schema_revision(self) -> str | None:
        """The Alembic revision the registry's schema is at."""

        def read() -> str | None:
            assert self._engine is not None, "Registry.open() was not awaited"
            with self._engine.connect() as connection:
                return current_revision(connection)

        return await self._run(read)

    # -- sessions -------------------------------------------------------------------------------

    async def insert_session(self, **fields: Unpack[SessionFields]) -> SessionRecord:
        """Insert a live session; :class:`ShareKeyTaken` if its share key is already held."""

        def insert() -> SessionRecord:
            now = utcnow()
            row = SessionRow(
                created=now,
                last_activity=now,
                active_key=active_key(fields["endpoint"], fields.get("share_key")),
                **fields,
            )
            with self._session() as db:
                db.add(row)
                try:
                    db.commit()
                except IntegrityError as error:
                    raise ShareKeyTaken(str(error.orig)) from None
                return _session_record(row)

        return await self._run(insert)

    async def update_session(
        self,
        session_id: str,
        *,
        expect_state: str | None = None,
        **fields: Unpack[SessionFields],
    ) -> SessionRecord | None:
        """Change a session row; None if it does not exist or ``expect_state`` no longer holds.

        ``expect_state`` makes the write conditional on the state the caller read (the state poller
        must not overwrite a kill that happened while it talked to Livy). A finished session never
        becomes live again, as in Livy.
        """

        def update() -> SessionRecord | None:
            with self._session() as db:
                row = db.get(SessionRow, session_id)
                if row is None or (expect_state is not None and row.state != expect_state):
                    return None
                if row.state in FINISHED_STATES and fields.get("state") not in (
                    None,
                    *FINISHED_STATES,
                ):
                    return _session_record(row)
                for name, value in fields.items():
                    setattr(row, name, value)
                if row.state in FINISHED_STATES:
                    row.active_key = None  # frees the share key for a new session
                db.commit()
                return _session_record(row)

        return await self._run(update)

    async def get_session(self, session_id: str) -> SessionRecord | None:
        def get() -> SessionRecord | None:
            with self._session() as db:
                row = db.get(SessionRow, session_id)
                return None if row is None else _session_record(row)

        return await self._run(get)

    async def failed_creates(self) -> list[SessionRecord]:
        """Rows of creates that failed before Livy answered (``error`` with no Livy id)."""

        def failed() -> list[SessionRecord]:
            with self._session() as db:
                rows = db.execute(
                    select(SessionRow).where(
                        SessionRow.state == "error", SessionRow.livy_id.is_(None)
                    )
                ).scalars()
                return [_session_record(row) for row in rows]

        return await self._run(failed)

    async def forget_failed_create(self, session_id: str) -> bool:
        """Delete the row of a create that failed before Livy answered; False if it is not one."""

        def forget() -> bool:
            with self._session() as db:
                row = db.get(SessionRow, session_id)
                if row is None or row.state != "error" or row.livy_id is not None:
                    return False
                db.delete(row)  # its attachments go with it (cascade)
                db.commit()
                return True

        return await self._run(forget)

    async def find_live(self, endpoint: str, share_key: str) -> SessionRecord | None:
        def find() -> SessionRecord | None:
            with self._session() as db:
                row = db.execute(
                    select(SessionRow).where(
                        SessionRow.active_key == active_key(endpoint, share_key)
                    )
                ).scalar_one_or_none()
                return None if row is None else _session_record(row)

        return await self._run(find)

    async def find_by_request(self, request_key: str) -> SessionRecord | None:
        """The session an earlier create with this request key made (any state)."""

        def find() -> SessionRecord | None:
            with self._session() as db:
                row = db.execute(
                    select(SessionRow).where(SessionRow.request_key == request_key)
                ).scalar_one_or_none()
                return None if row is None else _session_record(row)

        return await self._run(find)

    async def count_live(self, owner: str) -> int:
        """How many live sessions ``owner`` holds."""

        def count() -> int:
            with self._session() as db:
                query = select(func.count()).where(
                    SessionRow.owner == owner, SessionRow.state.not_in(FINISHED_STATES)
                )
                return db.execute(query.select_from(SessionRow)).scalar_one()

        return await self._run(count)

    async def live_with_share_prefix(self, prefix: str) -> list[SessionRecord]:
        """Live sessions whose share key starts with ``prefix`` (the warm pool's), oldest first."""

        def live() -> list[SessionRecord]:
            with self._session() as db:
                rows = db.execute(
                    select(SessionRow)
                    .where(
                        SessionRow.share_key.startswith(prefix, autoescape=True),
                        SessionRow.state.not_in(FINISHED_STATES),
                    )
                    .order_by(SessionRow.created, SessionRow.id)
                ).scalars()
                return [_session_record(row) for row in rows]

        return await self._run(live)

    async def take_over(
        self, session_id: str, *, from_share_key: str | None, share_key: str, owner: str
    ) -> SessionRecord | None:
        """Give a live session held under ``from_share_key`` a new share key and owner, in one
        conditional UPDATE: of concurrent callers (in any process on this database) one wins, the
        others get None. :class:`ShareKeyTaken` when ``share_key`` is already held elsewhere."""

        def take() -> SessionRecord | None:
            with self._session() as db:
                row = db.get(SessionRow, session_id)
                if row is None:
                    return None
                statement = (
                    update(SessionRow)
                    .where(
                        SessionRow.id == session_id,
                        SessionRow.share_key == from_share_key,
                        SessionRow.state.not_in(FINISHED_STATES),
                    )
                    .values(
                        share_key=share_key,
                        active_key=active_key(row.endpoint, share_key),
                        owner=owner,
                        last_activity=utcnow(),
                    )
                    .execution_options(synchronize_session=False)
                )
                try:
                    # An UPDATE's result is a cursor's, with its rowcount (Session.execute says Result).
                    changed = cast(CursorResult[Any], db.execute(statement))
                    db.commit()
                except IntegrityError as error:
                    db.rollback()
                    raise ShareKeyTaken(str(error.orig)) from None
                if changed.rowcount != 1:
                    return None
                db.refresh(row)
                return _session_record(row)

        return await self._run(take)

    async def live_sessions(self) -> list[SessionRecord]:
        def live() -> list[SessionRecord]:
            with self._session() as db:
                rows = db.execute(
                    select(SessionRow).where(SessionRow.state.not_in(FINISHED_STATES))
                ).scalars()
                return [_session_record(row) for row in rows]

        return await self._run(live)

    async def list_sessions(
        self,
        *,
        owner: str | None = None,
        state: str | None = None,
        live: bool = False,
        endpoint: str | None = None,
        path: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[SessionRecord], int]:
        """A page of sessions, newest first, and how many match in all."""

        def page() -> tuple[list[SessionRecord], int]:
            query = select(SessionRow)
            if owner is not None:
                query = query.where(SessionRow.owner == owner)
            if state is not None:
                query = query.where(SessionRow.state == state)
            if live:
                query = query.where(SessionRow.state.not_in(FINISHED_STATES))
            if endpoint is not None:
                query = query.where(SessionRow.endpoint == endpoint)
            if path is not None:
                query = query.where(
                    SessionRow.id.in_(
                        select(AttachmentRow.session_id).where(AttachmentRow.path == path)
                    )
                )
            query = query.order_by(SessionRow.created.desc(), SessionRow.id)
            with self._session() as db:
                rows, total = _page(db, query, limit, offset)
                return [_session_record(row) for row in rows], total

        return await self._run(page)

    # -- attachments ----------------------------------------------------------------------------

    async def attach(
        self,
        session_id: str,
        path: str,
        kernel_id: str | None,
        owner: str,
        server_id: str | None = None,
        run: str | None = None,
    ) -> AttachmentRecord:
        """The notebook's attachment to the session, created or refreshed (one per session and path).

        With ``kernel_id``, ``server_id`` names the broker whose kernel that is; ``run`` names the
        headless run that attaches (its kernel is no server's).
        """

        def attach() -> AttachmentRecord:
            now = utcnow()
            with self._session() as db:
                row = db.execute(
                    select(AttachmentRow).where(
                        AttachmentRow.session_id == session_id, AttachmentRow.path == path
                    )
                ).scalar_one_or_none()
                if row is None:
                    row = AttachmentRow(
                        id=new_id(), session_id=session_id, path=path, owner=owner, attached=now
                    )
                    db.add(row)
                if kernel_id:
                    row.kernel_id, row.server_id = kernel_id, server_id
                row.run = run
                row.last_seen = now
                session = db.get(SessionRow, session_id)
                if session is None:  # the caller holds a session it read from here
                    raise LookupError(f"no session {session_id} in the registry")
                session.unattached_since = None
                session.last_activity = now
                db.commit()
                return _attachment_record(row)

        return await self._run(attach)

    async def detach(self, attachment_id: str) -> AttachmentRecord | None:
        def detach() -> AttachmentRecord | None:
            with self._session() as db:
                row = db.get(AttachmentRow, attachment_id)
                if row is None:
                    return None
                record = _attachment_record(row)
                session = row.session
                db.delete(row)
                db.flush()
                if not session.attachments:
                    session.unattached_since = utcnow()
                db.commit()
                return record

        return await self._run(detach)

    async def beat(self, attachment_id: str) -> AttachmentRecord | None:
        """A headless run's kernel is alive: its attachment's ``last_seen`` is now. None when the
        attachment is gone (its session ended, or it was found dead)."""

        def beat() -> AttachmentRecord | None:
            with self._session() as db:
                row = db.get(AttachmentRow, attachment_id)
                if row is None:
                    return None
                row.last_seen = utcnow()
                db.commit()
                return _attachment_record(row)

        return await self._run(beat)

    async def get_attachment(self, attachment_id: str) -> AttachmentRecord | None:
        def get() -> AttachmentRecord | None:
            with self._session() as db:
                row = db.get(AttachmentRow, attachment_id)
                return None if row is None else _attachment_record(row)

        return await self._run(get)

    async def attachments(
        self,
        *,
        session_id: str | None = None,
        path: str | None = None,
        owner: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[list[AttachmentRecord], int]:
        def listing() -> tuple[list[AttachmentRecord], int]:
            query = select(AttachmentRow)
            if session_id is not None:
                query = query.where(AttachmentRow.session_id == session_id)
            if path is not None:
                query = query.where(AttachmentRow.path == path)
            if owner is not None:
                query = query.where(AttachmentRow.owner == owner)
            query = query.order_by(AttachmentRow.attached, AttachmentRow.id)
            with self._session() as db:
                rows, total = _page(db, query, limit, offset)
                return [_attachment_record(row) for row in rows], total

        return await self._run(listing)

    async def touch(self, session_id: str) -> None:
        """Record activity on a session and every attachment to it."""

        def touch() -> None:
            now = utcnow()
            with self._session() as db:
                row = db.get(SessionRow, session_id)
                if row is not None:
                    row.last_activity = now
                    for attachment in row.attachments:
                        attachment.last_seen = now
                    db.commit()

        await self._run(touch)

    # -- brokers sharing this registry ----------------------------------------------------------

    async def heartbeat(self, server_id: str) -> None:
        def beat() -> None:
            with self._session() as db:
                row = db.get(ServerRow, server_id) or ServerRow(id=server_id)
                row.last_seen = utcnow()
                db.merge(row)
                db.commit()

        await self._run(beat)

    async def prune_servers(self, silent_since: datetime) -> set[str]:
        """Forget the brokers that have not beaten since ``silent_since``; the ids of the others."""

        def prune() -> set[str]:
            with self._session() as db:
                db.execute(delete(ServerRow).where(ServerRow.last_seen < silent_since))
                db.commit()
                return set(db.execute(select(ServerRow.id)).scalars())

        return await self._run(prune)

    async def forget_server(self, server_id: str) -> None:
        def forget() -> None:
            with self._session() as db:
                row = db.get(ServerRow, server_id)
                if row is not None:
                    db.delete(row)
                    db.commit()

        await self._run(forget)

    # -- one broker lists each endpoint for all ------------------------------------------------

    async def take_lease(
        self, endpoint: str, holder: str, period: float, *, vacant_for: float = 0.0
    ) -> bool:
        """Take or renew the lease of ``endpoint`` for ``period`` seconds: True if ``holder`` has it.

        One conditional UPDATE (or the first INSERT): of brokers trying at once, in any process on
        this database, one wins. A lease that ended less than ``vacant_for`` seconds ago is not
        taken (left to a broker that did not just fail to reach the endpoint).
        """

        def take() -> bool:
            now = utcnow()
            expires = now + timedelta(seconds=period)
            with self._session() as db:
                statement = (
                    update(EndpointLeaseRow)
                    .where(
                        EndpointLeaseRow.endpoint == endpoint,
                        (EndpointLeaseRow.holder == holder)
                        | (EndpointLeaseRow.expires < now - timedelta(seconds=vacant_for)),
                    )
                    .values(holder=holder, expires=expires)
                    .execution_options(synchronize_session=False)
                )
                if cast(CursorResult[Any], db.execute(statement)).rowcount == 1:
                    db.commit()
                    return True
                if db.get(EndpointLeaseRow, endpoint) is not None:
                    return False  # another broker's, and current
                db.add(EndpointLeaseRow(endpoint=endpoint, holder=holder, expires=expires))
                try:
                    db.commit()
                except IntegrityError:  # another broker inserted it first
                    db.rollback()
                    return False
                return True

        return await self._run(take)

    async def end_leases(self, holder: str, endpoint: str | None = None) -> None:
        """End ``holder``'s lease of ``endpoint`` (of every endpoint if None) now: another broker
        takes it over on its next round rather than when it would have expired."""

        def end() -> None:
            statement = update(EndpointLeaseRow).where(EndpointLeaseRow.holder == holder)
            if endpoint is not None:
                statement = statement.where(EndpointLeaseRow.endpoint == endpoint)
            with self._session() as db:
                db.execute(statement.values(expires=utcnow()))
                db.commit()

        await self._run(end)

    async def lease_holders(self) -> dict[str, str]:
        """The endpoints whose lease is current, and who holds each."""

        def holders() -> dict[str, str]:
            with self._session() as db:
                rows = db.execute(
                    select(EndpointLeaseRow).where(EndpointLeaseRow.expires >= utcnow())
                ).scalars()
                return {row.endpoint: row.holder for row in rows}

        return await self._run(holders)

    # -- notebooks renamed, moved or deleted ----------------------------------------------------

    async def move_notebook(self, old: str, new: str) -> list[str]:
        """A notebook (or a folder) moved: its sessions, attachments and bindings follow it.
        Returns the ids of the sessions whose share key moved."""
        return await self._run(
            partial(self._in_transaction, partial(move_notebook, old=old, new=new))
        )

    async def release_notebook(self, path: str) -> list[str]:
        """A notebook (or a folder) deleted: its sessions lose their share key and its
        attachments and bindings end. Returns the ids of the sessions released."""
        return await self._run(partial(self._in_transaction, partial(release_notebook, path=path)))

    def _in_transaction(self, change: Callable[[Session], T]) -> T:
        with self._session() as db:
            result = change(db)
            db.commit()
            return result

    # -- bindings and run-time endpoints --------------------------------------------------------

    async def bind(self, owner: str, path: str, endpoint: str) -> None:
        def bind() -> None:
            with self._session() as db:
                db.merge(BindingRow(owner=owner, path=path, endpoint=endpoint, updated=utcnow()))
                db.commit()

        await self._run(bind)

    async def binding(self, owner: str, path: str) -> str | None:
        def get() -> str | None:
            with self._session() as db:
                row = db.get(BindingRow, (owner, path))
                return None if row is None else row.endpoint

        return await self._run(get)

    async def save_endpoint(self, name: str, owner: str, sealed_config: bytes) -> None:
        def save() -> None:
            with self._session() as db:
                row = EndpointRow(
                    name=name, owner=owner, sealed_config=sealed_config, updated=utcnow()
                )
                db.merge(row)
                db.commit()

        await self._run(save)

    async def delete_endpoint(self, name: str) -> None:
        def delete_row() -> None:
            with self._session() as db:
                db.execute(delete(EndpointRow).where(EndpointRow.name == name))
                db.commit()

        await self._run(delete_row)

    async def saved_endpoints(self) -> dict[str, tuple[str, bytes]]:
        """Run-time endpoints: name -> (owner, sealed config)."""

        def load() -> dict[str, tuple[str, bytes]]:
            with self._session() as db:
                rows = db.execute(select(EndpointRow)).scalars()
                return {row.name: (row.owner, row.sealed_config) for row in rows}

        return await self._run(load)


def _page(
    db: Session, query: Select[RowT], limit: int | None, offset: int
) -> tuple[list[RowT], int]:
    """One page of an ordered query's rows, and how many rows match in all."""
    total = db.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(db.execute(query).scalars()), total


def _create_private_file(path: Path) -> None:
    """The SQLite file holds session metadata of every user: readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _sqlite_pragmas(connection: sqlite3.Connection, _record: object) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    # With WAL, NORMAL cannot corrupt the file; a power cut may lose the last commits, which the
    # next reconcile with Livy repairs.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


__all__ = [
    "AttachmentRecord",
    "FINISHED_STATES",
    "Registry",
    "RegistryError",
    "SessionFields",
    "SessionRecord",
    "ShareKeyTaken",
    "new_id",
]
