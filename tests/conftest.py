"""Fixtures shared by every test: real Livy servers on loopback, and clients for them.

Two Livy servers stand behind ``livy_url`` and ``spark_livy_url``: the shipped local Livy, and Apache
Livy itself (``scripts/apache-livy.sh``). Tests marked ``both_livys`` run once on each
(``[local]`` and ``[apache]`` in their ids); ``--livy local|apache|both`` (or ``JSB_LIVY``) narrows
that. Every other test talks to the local Livy.

Coroutine tests run on pytest-jupyter's event loop (``jp_asyncio_loop``), the loop the Jupyter server
of the broker tests lives on; fixtures are synchronous and clean up on that loop.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from jupyter_spark_broker.livy import CreateSessionRequest, LivyClient, Session
from jupyter_spark_broker.livy_local import LocalLivyProcess
from tests.apache_livy import ApacheLivyProcess, unprepared_reason
from tests.kerberos_realm import KerberosRealm
from tests.postgres_server import PostgresServer

pytest_plugins = ["pytest_jupyter.jupyter_server"]

# Apache Livy starts a Spark driver per session: tens of seconds on 2 busy cores.
SESSION_START_TIMEOUT = 240

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


BACKENDS = ("local", "apache")


def pytest_addoption(parser):
    parser.addoption(
        "--livy",
        choices=("both", *BACKENDS),
        default=os.environ.get("JSB_LIVY", "both"),
        help="which Livy servers the tests marked both_livys run on (env JSB_LIVY; default both)",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "both_livys: runs on the local Livy and on Apache Livy (livy_backend fixture)"
    )


def pytest_generate_tests(metafunc):
    if "livy_backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "both_livys"
    ):
        chosen = metafunc.config.getoption("--livy")
        backends = BACKENDS if chosen == "both" else (chosen,)
        # A module that re-runs such tests for another reason may keep to fewer servers.
        allowed = getattr(metafunc.module, "LIVY_BACKENDS", BACKENDS)
        backends = tuple(backend for backend in backends if backend in allowed)
        metafunc.parametrize("livy_backend", backends, indirect=True)


@pytest.fixture
def livy_backend(request) -> str:
    """``local`` or ``apache``: which Livy this test talks to (``local`` unless marked both_livys)."""
    return getattr(request, "param", "local")


@pytest.fixture(scope="session")
def local_livy_url(start_local_livy) -> str:
    """The shared plain-Python local Livy most tests talk to."""
    return start_local_livy("--spark", "off", *FAST_TIMERS).url


@pytest.fixture(scope="session")
def local_spark_livy_url(start_local_livy) -> str:
    """One local Livy with real local SparkSessions, shared by every test marked ``spark``."""
    pytest.importorskip("pyspark", reason="the spark extra is installed by scripts/test.sh")
    return start_local_livy("--spark", "on").url


@pytest.fixture(scope="session")
def apache_livy_server(tmp_path_factory) -> Iterator[ApacheLivyProcess]:
    """One Apache Livy for the whole test session (its sessions are Spark drivers: slow to start).

    Not prepared (``scripts/apache-livy.sh prepare`` could not build it): the apache variants are
    skipped with the reason, unless ``JSB_REQUIRE_APACHE_LIVY=1`` makes that a failure.
    """
    reason = unprepared_reason()
    if reason is not None:
        if os.environ.get("JSB_REQUIRE_APACHE_LIVY") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    server = ApacheLivyProcess(tmp_path_factory.mktemp("apache-livy") / "livy.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def livy_url(request, livy_backend) -> Iterator[str]:
    """The Livy this test talks to: the plain-Python local Livy, or Apache Livy.

    On Apache Livy, sessions the test leaves behind are deleted after it (each is a Spark driver),
    except the pooled ones (``pooled_session``).
    """
    if livy_backend == "local":
        yield request.getfixturevalue("local_livy_url")
        return
    server = request.getfixturevalue("apache_livy_server")
    loop = request.getfixturevalue("jp_asyncio_loop")
    yield server.url
    loop.run_until_complete(delete_unpooled_sessions(server.url))


@pytest.fixture
def spark_livy_url(request, livy_backend) -> str:
    """A Livy whose sessions run real Spark: the local one with ``--spark on``, or Apache Livy."""
    if livy_backend == "local":
        return request.getfixturevalue("local_spark_livy_url")
    return request.getfixturevalue("livy_url")


# Livy session ids of pooled sessions, by Livy URL: kept for the whole test session.
_POOLED: dict[str, set[int]] = {}


async def delete_unpooled_sessions(url: str) -> None:
    async with LivyClient(url) as client:
        for session in await client.iter_all_sessions():
            if session.id not in _POOLED.get(url, set()):
                with contextlib.suppress(Exception):
                    await client.delete_session(session.id)


@pytest.fixture(scope="session")
def session_pool() -> dict[tuple[str, str, int], int]:
    """Idle sessions to share, by (Livy URL, kind, slot); they live until the server stops."""
    return {}


@pytest.fixture
def pooled_session(livy, livy_url, session_pool) -> Callable[..., Awaitable[Session]]:
    """``await pooled_session(kind="pyspark", slot=0)``: a ready session shared with other tests.

    For tests that only run statements. Each backend's session of a kind starts once per test run;
    ``slot`` asks for another one (a test that needs two sessions).
    """

    async def get(kind: str = "pyspark", slot: int = 0) -> Session:
        key = (livy_url, kind, slot)
        if key not in session_pool:
            session = await livy.create_session(CreateSessionRequest(kind=kind))
            _POOLED.setdefault(livy_url, set()).add(session.id)
            session_pool[key] = session.id
        ready = await livy.wait_for_session(session_pool[key], timeout=SESSION_START_TIMEOUT)
        assert ready.is_ready, f"session {ready.id} did not start: {ready.state} {ready.log}"
        return ready

    return get


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
        ready = await client.wait_for_session(session.id, timeout=SESSION_START_TIMEOUT)
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
