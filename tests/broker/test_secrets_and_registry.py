"""Secrets stay secret; the registry keeps its data, its schema version and its file private."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from jupyter_spark_broker.orm import SCHEMA_VERSION, SERVER_OWNER
from jupyter_spark_broker.registry import Registry, RegistryError

PASSWORD = "Zebra-Quartz-5417-Secret"


@pytest.fixture
def secured_livy(start_local_livy):
    return start_local_livy("--spark", "off", basic_auth=("keeper", PASSWORD))


async def test_a_livy_password_appears_in_no_response_log_or_column(
    api, broker_app, secured_livy, jp_logging_stream, caplog
):
    caplog.set_level(logging.DEBUG)
    payload = {
        "path": "secret/nb.ipynb",
        "username": "keeper",
        "password": PASSWORD,
        "endpoint": secured_livy.url,
    }
    replies = [await api.request("POST", "reconnectsparkmagic", api=False, body=payload)]
    assert replies[0].status == 200, replies[0].json
    session_id = replies[0].json["session_id"]
    statement = await api.post(f"sessions/{session_id}/statements", {"code": "'works'"})
    replies += [
        statement,
        await api.get(
            f"sessions/{session_id}/statements/{statement.json['id']}", params={"wait": 30}
        ),
        await api.get("endpoints"),
        await api.get("sessions"),
        await api.get(f"sessions/{session_id}"),
        await api.get(f"sessions/{session_id}/log", params={"size": -1}),
        await api.get("attachments"),
    ]
    assert replies[2].json["output"]["data"] == {"text/plain": "'works'"}  # the credentials work
    for reply in replies:
        assert PASSWORD.encode() not in reply.body

    logged = jp_logging_stream.getvalue() + caplog.text
    assert logged and PASSWORD not in logged

    # The registry holds it only sealed: not in any column, not in any byte of the database files.
    db_path = Path(broker_app.db_url[len("sqlite:///") :])
    await broker_app.stop_extension()
    for path in db_path.parent.iterdir():
        if path.name.startswith(db_path.name):
            assert PASSWORD.encode() not in path.read_bytes(), path
    with sqlite3.connect(db_path) as db:
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            for row in db.execute(f"SELECT * FROM {table}"):  # noqa: S608 - names from sqlite_master
                assert all(PASSWORD not in str(value) for value in row), table

    # ... and a new broker on that database can still use the sealed credentials.
    broker_app.initialize_settings()
    again = await api.post(f"sessions/{session_id}/statements", {"code": "'again'"})
    assert again.status == 201


async def test_registry_file_and_key_are_private(api, broker_app):
    await api.get("sessions")
    db_path = Path(broker_app.db_url[len("sqlite:///") :])
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(broker_app.secret_key_file).st_mode) == 0o600


def test_registry_keeps_data_and_schema_version_across_reopen(tmp_path, jp_asyncio_loop):
    url = f"sqlite:///{tmp_path}/registry.sqlite"

    async def write() -> str:
        registry = Registry(url)
        await registry.open()
        record = await registry.insert_session(
            id="a" * 32, endpoint="e", livy_name="jsb-x", kind="pyspark", state="idle", owner="me"
        )
        await registry.close()
        return record.id

    async def read(session_id: str):
        registry = Registry(url)
        await registry.open()
        try:
            return await registry.get_session(session_id), await registry.schema_version()
        finally:
            await registry.close()

    session_id = jp_asyncio_loop.run_until_complete(write())
    record, version = jp_asyncio_loop.run_until_complete(read(session_id))
    assert record is not None and record.livy_name == "jsb-x"
    assert version == SCHEMA_VERSION


# The tables later versions changed, as version 1 made them.
_V1_TABLES = """
ALTER TABLE spark_attachments DROP COLUMN server_id;
DROP TABLE broker_servers;
DROP TABLE spark_bindings;
CREATE TABLE spark_bindings (
    path VARCHAR(1024) NOT NULL PRIMARY KEY, endpoint VARCHAR(255) NOT NULL, updated DATETIME NOT NULL
);
DROP TABLE spark_endpoints;
CREATE TABLE spark_endpoints (
    name VARCHAR(255) NOT NULL PRIMARY KEY, sealed_config BLOB NOT NULL, updated DATETIME NOT NULL
);
INSERT INTO spark_bindings VALUES ('nb/a.ipynb', 'kept@http://livy:8998', '2026-11-01 10:00:00');
INSERT INTO spark_endpoints VALUES ('kept@http://livy:8998', x'00ff', '2026-11-01 10:00:00');
UPDATE broker_meta SET value = '1' WHERE key = 'schema_version';
"""


def test_a_version_1_registry_is_migrated_and_gives_its_bindings_to_the_server_user(
    tmp_path, jp_asyncio_loop
):
    url = f"sqlite:///{tmp_path}/registry.sqlite"

    async def open_close() -> None:
        registry = Registry(url)
        await registry.open()
        await registry.close()

    async def read():
        registry = Registry(url)
        await registry.open()
        try:
            await registry.bind("bob", "nb/a.ipynb", "bobs")  # the key is (owner, path) now
            return (
                await registry.schema_version(),
                await registry.binding(SERVER_OWNER, "nb/a.ipynb"),
                await registry.binding("bob", "nb/a.ipynb"),
                await registry.saved_endpoints(),
            )
        finally:
            await registry.close()

    jp_asyncio_loop.run_until_complete(open_close())
    with sqlite3.connect(tmp_path / "registry.sqlite") as db:
        db.executescript(_V1_TABLES)
    version, mine, theirs, endpoints = jp_asyncio_loop.run_until_complete(read())
    assert version == SCHEMA_VERSION == 3
    assert (mine, theirs) == ("kept@http://livy:8998", "bobs")
    assert endpoints == {"kept@http://livy:8998": (SERVER_OWNER, b"\x00\xff")}


def test_registry_refuses_a_database_from_a_newer_release(tmp_path, jp_asyncio_loop):
    url = f"sqlite:///{tmp_path}/registry.sqlite"

    async def open_close() -> None:
        registry = Registry(url)
        await registry.open()
        await registry.close()

    jp_asyncio_loop.run_until_complete(open_close())
    with sqlite3.connect(tmp_path / "registry.sqlite") as db:
        db.execute(
            "UPDATE broker_meta SET value = ? WHERE key = 'schema_version'",
            (str(SCHEMA_VERSION + 1),),
        )
    with pytest.raises(RegistryError, match="newer than this release"):
        jp_asyncio_loop.run_until_complete(open_close())
