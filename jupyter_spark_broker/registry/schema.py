"""The registry's schema: Alembic migrations shipped in ``migrations/``, run under a lock.

:meth:`Registry.open <.registry.Registry.open>` calls :func:`upgrade`, which brings any registry to the
newest revision (``head``) in one transaction, while holding a lock that every broker on the database
takes first: several Jupyter servers starting together on one PostgreSQL registry migrate it once, the
others wait and then find it at head.

- PostgreSQL: ``pg_advisory_lock`` with a fixed key, held by the migrating connection (advisory locks
  are per database, so other databases on the server are not held up). The DDL is transactional.
- SQLite (a file): a file lock beside the database (``<file>-migrate.lock``), then the database's
  own write lock, taken up front with ``BEGIN IMMEDIATE`` on a connection of its own, whose
  transaction the whole migration runs in. The file lock is for the journal mode: switching a new
  database to WAL needs it to itself, and fails at once (no waiting) while another broker migrates.
- Any other database: one transaction, no lock beyond what the database takes by itself.

The migration environment is found through this package's path, not through an ``alembic.ini``: the
package is installed with pip, and the server may start in any directory. ``migrations/README.md``
says how to write a revision.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, func, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Not Alembic's default "alembic_version": a site may keep the registry in a database that another
# Alembic-managed application (JupyterHub, say) uses too; its version table must not be ours.
VERSION_TABLE = "broker_alembic_version"
# The revision that creates the schema the hand-versioned registry had at its version 5.
INITIAL_REVISION = "9d3f5a0c2b71"
# The last hand-written schema version (``broker_meta``): its registries have the initial revision's schema.
LAST_HAND_VERSION = "5"
# The key of the PostgreSQL advisory lock: fixed for every release, so old and new brokers exclude each
# other ("JSBMIGR" in ASCII).
PG_LOCK_KEY = 0x4A53424D494752
# Alembic keeps the running migration in module globals (alembic.context, alembic.op): one migration
# at a time in a process, whatever the database. Taken before the database's lock, never after.
_ONE_AT_A_TIME = threading.Lock()
# How long a broker waits for another one's migration of a SQLite registry, in seconds.
SQLITE_LOCK_TIMEOUT = 120.0


class RegistryError(RuntimeError):
    """The database cannot be used (for example: it was written by a newer release)."""


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """Alembic's configuration for the registry: the package's migrations, on ``connection`` (in the
    transaction the caller began) or, for a developer's ``command.revision``, on a new engine at
    ``url``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    config.attributes["url"] = url
    return config


def head_revision() -> str:
    """The newest revision this release knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # a broken install: migrations/versions/ is empty
        raise RegistryError(f"no schema revisions in {MIGRATIONS_DIR / 'versions'}")
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at, None before any."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade(engine: Engine) -> str:
    """Bring the registry at ``engine`` to head under the lock; the revision it is at after."""
    with _ONE_AT_A_TIME:
        return _upgrade_locked(engine)


def _upgrade_locked(engine: Engine) -> str:
    if engine.dialect.name == "postgresql":
        return _upgrade_postgresql(engine)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        return _upgrade_sqlite_file(engine, Path(database))
    # An in-memory SQLite database belongs to one process; any other database gets one transaction.
    with engine.begin() as connection:
        return _upgrade(connection)


def _upgrade_postgresql(engine: Engine) -> str:
    with engine.connect() as connection:
        # A session lock (not a transaction's): it would still hold if a later revision had to
        # commit part of its work early (Alembic's autocommit_block).
        connection.execute(select(func.pg_advisory_lock(PG_LOCK_KEY)))
        connection.commit()
        try:
            with connection.begin():
                return _upgrade(connection)
        finally:
            try:
                connection.execute(select(func.pg_advisory_unlock(PG_LOCK_KEY)))
                connection.commit()
            except DBAPIError:
                # The connection broke: the server ended its session and the lock with it. Never
                # hand a connection that may still hold the lock back to the pool.
                connection.invalidate()


def _upgrade_sqlite_file(engine: Engine, database: Path) -> str:
    with _file_lock(database.with_name(database.name + "-migrate.lock")):
        return _upgrade_sqlite_file_locked(engine)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Held by one process at a time, until it closes the file (or dies). Never the database file
    itself: closing any descriptor of it would drop SQLite's own locks in this process."""
    try:
        import fcntl
    except ImportError:  # Windows: the database's write lock alone
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _upgrade_sqlite_file_locked(engine: Engine) -> str:
    # pysqlite begins transactions by itself and only before writing rows, never before DDL: this
    # engine begins them itself (as SQLAlchemy's documentation shows), IMMEDIATE, so the write lock
    # is taken before anything is read, and the whole migration is one transaction.
    migrating = create_engine(
        engine.url, poolclass=NullPool, connect_args={"timeout": SQLITE_LOCK_TIMEOUT}
    )
    event.listen(migrating, "connect", _pysqlite_without_transactions)
    event.listen(migrating, "begin", _begin_immediate)
    try:
        with migrating.begin() as connection:
            return _upgrade(connection)
    finally:
        migrating.dispose()


def _pysqlite_without_transactions(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # The registry's journal mode (registry.py sets it too): readers do not block the writer. Here
    # first, under the file lock: the switch needs the database to itself. A no-op once in WAL.
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _upgrade(connection: Connection) -> str:
    """In the caller's transaction, holding the lock: stamp a registry from before Alembic, refuse
    one from too long ago or from a newer release, then upgrade to head."""
    config = alembic_config(connection)
    scripts = ScriptDirectory.from_config(config)
    tables = set(inspect(connection).get_table_names())
    if VERSION_TABLE in tables:
        known = {script.revision for script in scripts.walk_revisions()}
        current = current_revision(connection)
        if current is not None and current not in known:
            raise RegistryError(
                f"the registry at {_safe(connection)} is at schema revision {current}, which this "
                "release does not know: it was written by a newer jupyter-spark-broker; upgrade it"
            )
    elif "broker_meta" in tables:
        _stamp_hand_versioned(connection, config)
    elif tables & _REGISTRY_TABLES:
        raise RegistryError(
            f"the database at {_safe(connection)} has registry tables "
            f"({', '.join(sorted(tables & _REGISTRY_TABLES))}) but no record of their schema: it "
            "is not a registry this release can use. Point db_url at a new database, or drop those "
            "tables."
        )
    before = current_revision(connection)
    command.upgrade(config, "head")
    after = current_revision(connection)
    if after != before:
        log.info("Spark broker registry %s: schema %s -> %s", _safe(connection), before, after)
    if after is None:  # Alembic wrote no version: head_revision() says why
        raise RegistryError(f"the registry is at no revision after upgrading to {head_revision()}")
    return after


def _stamp_hand_versioned(connection: Connection, config: Config) -> None:
    """A registry from before Alembic: its ``broker_meta`` table holds the hand-written version."""
    version = connection.execute(
        text("SELECT value FROM broker_meta WHERE key = 'schema_version'")
    ).scalar_one_or_none()
    if version != LAST_HAND_VERSION:
        raise RegistryError(
            f"the registry at {_safe(connection)} has schema version {version}, from a development "
            "build before the first release of jupyter-spark-broker; this release cannot migrate "
            "it. Recreate it: stop the servers that use it, move the SQLite file aside (or drop "
            "the PostgreSQL database's spark_* and broker_* tables) and start again. Its Spark "
            "sessions are forgotten: end them in Livy or let Livy's idle timeout end them."
        )
    # Version 5 is the initial revision's schema: from here on Alembic knows where the registry is.
    command.stamp(config, INITIAL_REVISION)
    log.info(
        "Spark broker registry %s: schema version 5 is revision %s",
        _safe(connection),
        INITIAL_REVISION,
    )


def _safe(connection: Connection) -> str:
    return connection.engine.url.render_as_string(hide_password=True)


# Every table any revision has made: their presence without a version says "a registry, but whose?".
_REGISTRY_TABLES = {
    "spark_sessions",
    "spark_attachments",
    "spark_bindings",
    "spark_endpoints",
    "broker_servers",
    "broker_meta",
}
