"""Fixtures shared by every test: real local Livy servers on loopback, and clients for them.

Coroutine tests run on pytest-jupyter's event loop (``jp_asyncio_loop``), the loop the Jupyter server
of the broker tests lives on; fixtures are synchronous and clean up on that loop.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from jupyter_spark_broker.livy import CreateSessionRequest, LivyClient, Session
from jupyter_spark_broker.livy_local import LocalLivyProcess
from tests.kerberos_realm import KerberosRealm
from tests.postgres_server import PostgresServer

pytest_plugins = ["pytest_jupyter.jupyter_server"]

# Short timers so expiry tests finish quickly; sessions run plain Python unless a test asks for Spark.
FAST_TIMERS = ["--gc-interval", "0.2", "--heartbeat-watchdog-interval", "0.2"]


@pytest.fixture(scope="session")
def start_local_livy(tmp_path_factory) -> Iterator[Callable[..., LocalLivyProcess]]:
    """Start a local Livy with the given CLI options; every one started is stopped at the end."""
    started: list[LocalLivyProcess] = []

    def start(*args: str, basic_auth: tuple[str, str] | None = None) -> LocalLivyProcess:
        log_path = tmp_path_factory.mktemp("livy") / "stderr.log"
        server = LocalLivyProcess(args, basic_auth=basic_auth, stderr=log_path.open("wb"))
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def livy_url(start_local_livy) -> str:
    """The shared plain-Python local Livy most tests talk to."""
    return start_local_livy("--spark", "off", *FAST_TIMERS).url


@pytest.fixture(scope="session")
def spark_livy_url(start_local_livy) -> str:
    """One local Livy with real local SparkSessions, shared by every test marked ``spark``."""
    pytest.importorskip("pyspark", reason="the spark extra is installed by scripts/test.sh")
    return start_local_livy("--spark", "on").url


@pytest.fixture
def livy(livy_url, jp_asyncio_loop) -> Iterator[LivyClient]:
    client = LivyClient(livy_url)
    yield client
    jp_asyncio_loop.run_until_complete(client.aclose())


@pytest.fixture
def make_session(livy, jp_asyncio_loop) -> Iterator[Callable[..., Awaitable[Session]]]:
    """Create a session and wait until it is ready.

    Sessions on the shared server are deleted after the test; those on a server of the test's own go
    with that server.
    """
    created: list[int] = []

    async def make(client: LivyClient | None = None, **fields) -> Session:
        fields.setdefault("kind", "pyspark")
        session = await (client or livy).create_session(CreateSessionRequest(**fields))
        if client is None:
            created.append(session.id)
        client = client or livy
        ready = await client.wait_for_session(session.id, timeout=60)
        assert ready.is_ready, f"session {session.id} did not start: {ready.state} {ready.log}"
        return ready

    yield make

    async def delete_created() -> None:
        for session_id in created:
            with contextlib.suppress(Exception):
                await livy.delete_session(session_id)

    jp_asyncio_loop.run_until_complete(delete_created())


@pytest.fixture(scope="session")
def kerberos_realm(tmp_path_factory) -> Iterator[KerberosRealm]:
    """A real MIT KDC for the session. Its krb5.conf and an empty default ticket cache are this
    process's from here on, so no test ever sees the machine's own Kerberos setup."""
    pytest.importorskip("gssapi", reason="the kerberos extra is installed by scripts/test.sh")
    with (
        KerberosRealm(tmp_path_factory.mktemp("kerberos")) as realm,
        pytest.MonkeyPatch.context() as environment,
    ):
        for name, value in realm.env.items():
            environment.setenv(name, value)
        yield realm


@pytest.fixture(scope="session")
def kerberos_livy_url(kerberos_realm, start_local_livy) -> str:
    """A local Livy behind Kerberos (``livy.server.auth.type = kerberos``), as http://localhost:PORT:
    a client asks the KDC for HTTP/<the URL's host>, and the service principal is HTTP/localhost."""
    server = start_local_livy(
        "--spark", "off",
        "--auth-kerberos", kerberos_realm.service_principal,
        "--auth-kerberos-keytab", str(kerberos_realm.service_keytab),
    )  # fmt: skip
    return server.url.replace("127.0.0.1", "localhost")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL for the session; each test that wants it gets a database of its own."""
    pytest.importorskip("psycopg", reason="the postgresql extra is installed by scripts/test.sh")
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as postgres.
    directory = Path(tempfile.mkdtemp(prefix="jsb-postgres-"))
    try:
        with PostgresServer(directory) as server:
            yield server
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def postgres_db_url(postgres_server) -> str:
    return postgres_server.new_database()
