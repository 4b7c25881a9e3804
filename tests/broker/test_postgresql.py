"""The broker on PostgreSQL, the registry database meant for several Jupyter servers.

The tests imported here run again in this module, where ``broker_config`` points the registry at a
fresh database of a real PostgreSQL server (tests/postgres_server.py). The schema migrations run on
PostgreSQL in test_registry_migrations.py.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.broker.test_attachments import (  # noqa: F401
    test_fifty_concurrent_attaches_create_one_livy_session,
    test_reattach_after_kernel_restart_reuses_the_live_session,
)
from tests.broker.test_lifecycle import test_broker_restart_readopts_live_sessions  # noqa: F401
from tests.broker.test_multi_server import (  # noqa: F401
    SERVER_TIMEOUT,
    start_server_b,
    test_a_crashed_servers_attachments_go_once_its_heartbeat_is_stale,
    test_a_live_servers_kernels_keep_their_attachments,
)

# The registry's database is what changes here: the imported tests run on Apache Livy in their own
# modules already.
LIVY_BACKENDS = ("local",)


@pytest.fixture
def broker_config(broker_config, postgres_db_url) -> dict:
    return {**broker_config, "db_url": postgres_db_url, "server_timeout": SERVER_TIMEOUT}


async def test_the_rows_are_in_postgresql(api, broker_config):
    attached = await api.post("attachments", {"path": "pg/where.ipynb"})
    engine = create_engine(broker_config["db_url"])
    with engine.connect() as db:
        stored = db.execute(
            text("SELECT endpoint FROM spark_sessions WHERE id = :id"),
            {"id": attached.json["session_id"]},
        ).scalar_one()
    engine.dispose()
    assert engine.dialect.name == "postgresql" and stored == "test"
