"""Secrets stay secret; the registry keeps its data, its schema revision and its file private (its
migrations: test_registry_migrations.py)."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from jupyter_spark_broker.registry.registry import Registry
from jupyter_spark_broker.registry.schema import head_revision

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


def test_registry_keeps_data_and_schema_revision_across_reopen(tmp_path, jp_asyncio_loop):
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
            return await registry.get_session(session_id), await registry.schema_revision()
        finally:
            await registry.close()

    session_id = jp_asyncio_loop.run_until_complete(write())
    record, version = jp_asyncio_loop.run_until_complete(read(session_id))
    assert record is not None and record.livy_name == "jsb-x"
    assert version == head_revision()
