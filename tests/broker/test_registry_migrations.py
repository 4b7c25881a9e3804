"""The registry's schema is Alembic's: made and upgraded by the package's revisions, under a lock, on
SQLite and on a real PostgreSQL (tests/postgres_server.py)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, String, Table, Text, create_engine, inspect, text
from sqlalchemy.exc import OperationalError

from jupyter_spark_broker.registry import schema as registry_schema
from jupyter_spark_broker.registry.orm import Base
from jupyter_spark_broker.registry.registry import Registry, RegistryError
from jupyter_spark_broker.registry.schema import (
    INITIAL_REVISION,
    PG_LOCK_KEY,
    VERSION_TABLE,
    alembic_config,
    head_revision,
)

REGISTRIES_AT_ONCE = 6
INITIAL_TABLES = {"spark_sessions", "spark_attachments", "spark_bindings", "spark_endpoints"}
INITIAL_TABLES |= {"broker_servers"}
MODEL_TABLES = INITIAL_TABLES | {"broker_endpoint_leases"}  # c7a2e94b1d35


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/registry.sqlite"
    return request.getfixturevalue("postgres_db_url")


async def open_close(url: str) -> str | None:
    registry = Registry(url)
    await registry.open()
    try:
        return await registry.schema_revision()
    finally:
        await registry.close()


def tables_and_versions(url: str) -> tuple[set[str], list[str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as db:
            tables = set(inspect(db).get_table_names())
            versions = []
            if VERSION_TABLE in tables:
                versions = list(
                    db.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
                )
            return tables, versions
    finally:
        engine.dispose()


def test_the_package_has_one_line_of_revisions_from_the_initial_one():
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_bases() == [INITIAL_REVISION]
    assert len(scripts.get_heads()) == 1  # no branches: every broker agrees on what head is
    assert head_revision() != INITIAL_REVISION  # so the upgrade past the initial one is tested


async def test_a_new_registry_is_made_by_upgrading_to_head(registry_url):
    assert await open_close(registry_url) == head_revision()
    tables, versions = tables_and_versions(registry_url)
    assert tables == MODEL_TABLES | {VERSION_TABLE}  # broker_meta was the hand-written version's
    assert versions == [head_revision()]
    # Opening it again changes nothing.
    assert await open_close(registry_url) == head_revision()
    assert tables_and_versions(registry_url) == (tables, versions)


async def test_the_models_and_the_migrations_agree(registry_url):
    await open_close(registry_url)
    engine = create_engine(registry_url)
    try:
        with engine.connect() as db:
            context = MigrationContext.configure(
                db,
                opts={
                    "version_table": VERSION_TABLE,
                    "compare_type": True,
                    "compare_server_default": True,
                },
            )
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def make_hand_versioned_registry(url: str, version: str) -> None:
    """A registry as the broker made it before Alembic: the tables of schema version 5 (those the
    initial revision writes out, without its version table), and the schema version in broker_meta;
    with a session and a binding in it."""
    engine = create_engine(url)
    meta = Table(
        "broker_meta",
        MetaData(),
        Column("key", String(64), primary_key=True),
        Column("value", Text, nullable=False),
    )
    with engine.begin() as db:
        command.upgrade(alembic_config(db), INITIAL_REVISION)
        db.execute(text(f"DROP TABLE {VERSION_TABLE}"))
        db.execute(meta.insert().values(key="schema_version", value=version))
        when = datetime(2026, 11, 1, 10, 0)
        db.execute(
            text(
                "INSERT INTO spark_sessions (id, endpoint, livy_id, livy_name, kind, state, owner, "
                "config, created, last_activity, protocol) VALUES ('old', 'e', 3, 'jsb-old', "
                "'pyspark', 'idle', 'alice', '{}', :when, :when, 'livy')"
            ),
            {"when": when},
        )
        db.execute(
            text(
                "INSERT INTO spark_bindings (owner, path, endpoint, updated) "
                "VALUES ('alice', 'nb/a.ipynb', 'e', :when)"
            ),
            {"when": when},
        )
    engine.dispose()


async def test_a_version_5_registry_is_stamped_at_the_initial_revision_and_upgraded(registry_url):
    make_hand_versioned_registry(registry_url, "5")
    registry = Registry(registry_url)
    await registry.open()
    try:
        revision = await registry.schema_revision()
        session = await registry.get_session("old")
        binding = await registry.binding("alice", "nb/a.ipynb")
    finally:
        await registry.close()
    assert revision == head_revision()
    assert (session.livy_name, session.livy_id, session.protocol) == ("jsb-old", 3, "livy")
    assert binding == "e"
    tables, versions = tables_and_versions(registry_url)
    assert tables == MODEL_TABLES | {VERSION_TABLE} and versions == [head_revision()]


@pytest.mark.parametrize("version", ["1", "4"])
async def test_an_older_hand_versioned_registry_is_refused_untouched(registry_url, version):
    make_hand_versioned_registry(registry_url, version)
    before = tables_and_versions(registry_url)
    with pytest.raises(RegistryError, match="before the first release.*Recreate it"):
        await open_close(registry_url)
    assert tables_and_versions(registry_url) == before  # no version table, broker_meta kept


async def test_a_registry_at_the_initial_revision_upgrades_to_head(registry_url):
    engine = create_engine(registry_url)
    with engine.begin() as db:
        command.upgrade(alembic_config(db), INITIAL_REVISION)
        db.execute(
            text(
                "INSERT INTO spark_endpoints (name, owner, sealed_config, updated) "
                "VALUES ('kept', 'alice', :blob, :when)"
            ),
            {"blob": b"\x00\xff", "when": datetime(2026, 11, 1)},
        )
    engine.dispose()
    assert tables_and_versions(registry_url) == (
        INITIAL_TABLES | {VERSION_TABLE, "broker_meta"},
        [INITIAL_REVISION],
    )

    registry = Registry(registry_url)
    await registry.open()
    try:
        revision = await registry.schema_revision()
        endpoints = await registry.saved_endpoints()
    finally:
        await registry.close()
    assert revision == head_revision()
    assert endpoints == {"kept": ("alice", b"\x00\xff")}
    assert tables_and_versions(registry_url) == (
        MODEL_TABLES | {VERSION_TABLE},
        [head_revision()],
    )


async def test_a_registry_from_a_newer_release_is_refused(registry_url):
    await open_close(registry_url)
    engine = create_engine(registry_url)
    with engine.begin() as db:
        db.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = 'f00dfeedbeef'"))
    engine.dispose()
    with pytest.raises(RegistryError, match="f00dfeedbeef.*newer jupyter-spark-broker"):
        await open_close(registry_url)


async def test_registry_tables_with_no_record_of_their_schema_are_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/registry.sqlite"
    engine = create_engine(url)
    Base.metadata.create_all(engine)  # as if broker_meta had never been written
    engine.dispose()
    with pytest.raises(RegistryError, match="no record of their schema"):
        await open_close(url)


# -- several brokers upgrading one registry at once ------------------------------------------------


async def test_several_registries_upgrading_one_new_database_at_once_all_succeed(registry_url):
    registries = [Registry(registry_url) for _ in range(REGISTRIES_AT_ONCE)]
    # Each registry works on a thread of its own: the opens run at once.
    results = await asyncio.gather(
        *(registry.open() for registry in registries), return_exceptions=True
    )
    opened = [
        registry for registry, result in zip(registries, results, strict=True) if result is None
    ]
    try:
        assert [result for result in results if result is not None] == []
        revisions = await asyncio.gather(*(r.schema_revision() for r in registries))
    finally:
        await asyncio.gather(*(registry.close() for registry in opened))
    assert revisions == [head_revision()] * REGISTRIES_AT_ONCE
    tables, versions = tables_and_versions(registry_url)
    assert tables == MODEL_TABLES | {VERSION_TABLE}
    assert versions == [head_revision()]  # exactly one row
    if registry_url.startswith("sqlite"):
        path = Path(registry_url[len("sqlite:///") :])
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


async def test_several_registries_upgrading_a_version_5_database_at_once_all_succeed(
    registry_url,
):
    make_hand_versioned_registry(registry_url, "5")
    registries = [Registry(registry_url) for _ in range(REGISTRIES_AT_ONCE)]
    results = await asyncio.gather(
        *(registry.open() for registry in registries), return_exceptions=True
    )
    opened = [
        registry for registry, result in zip(registries, results, strict=True) if result is None
    ]
    try:
        assert [result for result in results if result is not None] == []
        sessions = await asyncio.gather(*(r.get_session("old") for r in registries))
    finally:
        await asyncio.gather(*(registry.close() for registry in opened))
    assert {session.livy_name for session in sessions} == {"jsb-old"}
    assert tables_and_versions(registry_url) == (
        MODEL_TABLES | {VERSION_TABLE},
        [head_revision()],
    )


async def test_on_postgresql_the_upgrade_waits_for_the_advisory_lock(postgres_db_url):
    """Another broker holds the lock: the upgrade waits for it before it reads or writes anything."""
    from tests.helpers import eventually

    holder = create_engine(postgres_db_url)
    with holder.connect() as held:
        held.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PG_LOCK_KEY})
        held.commit()
        opening = asyncio.ensure_future(open_close(postgres_db_url))

        async def waiting() -> bool:
            return (
                held.execute(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                        "AND database = (SELECT oid FROM pg_database WHERE datname = "
                        "current_database())"
                    )
                ).scalar_one()
                == 1
            )

        try:
            await eventually(waiting, what="the upgrade to wait for the advisory lock")
            assert not opening.done()
            assert VERSION_TABLE not in inspect(held).get_table_names()
        finally:
            held.rollback()
            held.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_LOCK_KEY})
            held.commit()
        assert await opening == head_revision()
    holder.dispose()


async def test_on_sqlite_the_upgrade_takes_the_write_lock_first(tmp_path, monkeypatch):
    """Another broker holds SQLite's write lock: the upgrade cannot start, not even to read."""
    url = f"sqlite:///{tmp_path}/registry.sqlite"
    assert await open_close(url) == head_revision()
    monkeypatch.setattr(registry_schema, "SQLITE_LOCK_TIMEOUT", 0.2)
    held = sqlite3.connect(tmp_path / "registry.sqlite", isolation_level=None)
    held.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            await open_close(url)
    finally:
        held.execute("ROLLBACK")
        held.close()
    assert await open_close(url) == head_revision()


def test_several_processes_upgrading_one_new_database_at_once_all_succeed(registry_url, tmp_path):
    """The same race between processes (in one process, registries also take turns on a lock of
    their own: Alembic's context is global), each released once all have imported the package. They
    run in an empty directory: the migrations are found through the package, not an alembic.ini."""
    url = registry_url
    program = (
        "import asyncio, sys\n"
        "from jupyter_spark_broker.registry.registry import Registry\n"
        "async def main():\n"
        "    registry = Registry(sys.argv[1])\n"
        "    await registry.open()\n"
        "    print(await registry.schema_revision())\n"
        "    await registry.close()\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"  # until the test says go, to all at once
        "asyncio.run(main())\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", program, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
            cwd=tmp_path,
        )
        for _ in range(REGISTRIES_AT_ONCE)
    ]
    try:
        assert [process.stdout.readline() for process in processes] == ["ready\n"] * len(processes)
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = [process.communicate(timeout=120) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert [p.returncode for p in processes] == [0] * REGISTRIES_AT_ONCE, outputs
    assert [out.strip() for out, _ in outputs] == [head_revision()] * REGISTRIES_AT_ONCE
    assert tables_and_versions(url) == (MODEL_TABLES | {VERSION_TABLE}, [head_revision()])
    if url.startswith("sqlite"):
        assert stat.S_IMODE(os.stat(url[len("sqlite:///") :]).st_mode) == 0o600
