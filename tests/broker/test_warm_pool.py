"""The warm pool on a real Jupyter server and a real local Livy: one session on the embedded endpoint by
default, none on a site's Livy; it fills, its sessions are not reaped, an attach claims one
atomically (also against a second Jupyter server on the same registry), a starting one before
starting another, it refills, a restarted broker re-adopts it, it ends with the embedded Livy, and
there is none under ``impersonate``."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import httpx
import pytest

from jupyter_spark_broker.broker.caps import POOL_OWNER
from jupyter_spark_broker.broker.users import SERVER_OWNER
from jupyter_spark_broker.livy import LivyClient
from jupyter_spark_broker.registry.orm import utcnow
from jupyter_spark_broker.registry.registry import Registry, new_id
from tests.broker.conftest import restart_broker
from tests.broker.prometheus import grew, scrape, value
from tests.helpers import eventually
from tests.live_server import LiveJupyter

POOL = 5
WARMUP = "warmed_up = True"


@pytest.fixture
def broker_config(broker_config) -> dict:
    return {
        **broker_config,
        "warm_pool": {"default": POOL},
        "idle_timeout": 0.5,
        # The test Livy runs plain Python sessions (no Spark): a warm-up that runs there.
        "warm_pool_warmup": {"pyspark": WARMUP},
        # Fifty notebooks of one user race for the pool below: no cap on live sessions here.
        "max_sessions_per_user": 0,
    }


@pytest.fixture
def ends(broker_app, livy_url, jp_asyncio_loop):
    """The shared test Livy keeps nothing of these tests: every live session on it is deleted."""
    yield

    async def end() -> None:
        broker = broker_app.broker
        with contextlib.suppress(Exception):
            await broker.pool.stop()
        with contextlib.suppress(Exception):
            rows = await broker.registry.live_sessions()
            async with LivyClient(livy_url) as livy:
                for row in rows:
                    if row.endpoint == "test" and row.livy_id is not None:
                        with contextlib.suppress(Exception):
                            await livy.delete_session(row.livy_id)

    jp_asyncio_loop.run_until_complete(end())


@pytest.fixture
def server_a(jp_serverapp, http_server_client, jp_base_url) -> httpx.AsyncClient:
    """Server A without the test client's queue of ten: fifty attaches reach it at once."""
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{http_server_client.get_http_port()}{jp_base_url}",
        headers={"Authorization": f"token {jp_serverapp.identity_provider.token}"},
        timeout=300,
    )


async def attach_on(http: httpx.AsyncClient, path: str) -> dict:
    reply = await http.post("spark-broker/api/attachments", json={"path": path})
    assert reply.status_code == 201, reply.text
    return reply.json()["session"]


async def warm(api, profile: str = "default") -> int:
    profiles = (await api.get("profiles")).json["profiles"]
    return next(p["warm"] for p in profiles if p["name"] == profile)


async def until_warm(api, count: int = POOL, profile: str = "default") -> None:
    async def ready() -> bool:
        return await warm(api, profile) == count

    await eventually(ready, what=f"{count} warm sessions of {profile!r}", timeout=120)


async def pooled_ids(broker, profile: str = "default") -> set[str]:
    return {record.id for record in await broker.pool.pooled(profile)}


async def test_the_pool_fills_and_is_neither_reaped_nor_listed_as_the_users(api, broker_app, ends):
    await until_warm(api)
    broker = broker_app.broker
    pooled = await broker.pool.pooled("default")
    assert len(pooled) == POOL
    assert {r.owner for r in pooled} == {POOL_OWNER}
    assert all(r.config["conf"]["spark.jupyter.notebook"] == "warm pool" for r in pooled)
    # A user's listing has none of them (an admin's has).
    assert (await api.get("sessions")).json["total"] == 0

    # Older than idle_timeout (0.5 s), yet the reaper keeps them: they count as attached.
    async def old_enough() -> bool:
        return all(utcnow() - r.created > timedelta(seconds=1) for r in pooled)

    await eventually(old_enough, what="the pooled sessions to pass idle_timeout")
    await broker.lifecycle.reap()
    assert await pooled_ids(broker) == {r.id for r in pooled}
    assert await warm(api) == POOL


async def test_pooled_sessions_run_the_warm_up_before_they_count_warm(
    api, broker_app, livy_url, ends
):
    before = await scrape(api)
    await until_warm(api)
    pooled = await broker_app.broker.pool.pooled("default")
    async with LivyClient(livy_url) as livy:
        for record in pooled:
            statements = (await livy.list_statements(record.livy_id)).statements
            assert [s.code for s in statements] == [WARMUP]
            assert statements[0].output.status == "ok"
    samples = await scrape(api)
    assert (
        value(samples, "spark_broker_warm_pool_sessions", profile="default", status="warm") == POOL
    )

    claimed = await api.post("attachments", {"path": "warm/first.ipynb"})
    assert claimed.status == 201 and claimed.json["session_id"] in {r.id for r in pooled}
    after = await scrape(api)
    assert grew(before, after, "spark_broker_warm_pool_claims_total", profile="default") == 1
    # Its first statement runs in the warmed-up interpreter.
    statement = await api.post(
        f"sessions/{claimed.json['session_id']}/statements",
        {"code": "warmed_up"},
        params={"wait": 30},
    )
    assert statement.status == 201 and statement.json["output"]["data"]["text/plain"] == "True"


async def test_fifty_new_notebooks_claim_the_five_pooled_sessions_once_each(
    api, broker_app, server_a, ends
):
    await until_warm(api)
    broker = broker_app.broker
    await broker.pool.stop()  # no refill meanwhile: exactly the five are there to claim
    pool = await pooled_ids(broker)

    async with server_a:
        sessions = await asyncio.gather(
            *(attach_on(server_a, f"race/nb{i}.ipynb") for i in range(50))
        )
    ids = [s["id"] for s in sessions]
    assert len(set(ids)) == 50  # no session handed to two notebooks
    claimed = [s for s in sessions if s["id"] in pool]
    assert len(claimed) == POOL and len(set(ids) - pool) == 45
    for session in claimed:  # now the notebook's own
        assert session["owner"] == SERVER_OWNER and session["share_key"].startswith("notebook:")
        assert session["state"] == "idle"  # ready at once
    assert await pooled_ids(broker) == set()

    # The pool refills in the background, with new sessions.
    broker.pool.start()
    await until_warm(api)
    assert not (await pooled_ids(broker)) & set(ids)


async def test_two_servers_on_one_registry_claim_each_pooled_session_once(
    api, broker_app, broker_config, livy_url, tmp_path, server_a, ends
):
    await until_warm(api)
    broker = broker_app.broker
    await broker.pool.stop()
    pool = await pooled_ids(broker)
    workdir = tmp_path / "server-b"
    workdir.mkdir()
    server_b = LiveJupyter(
        workdir,
        livy_url,
        db_url=broker_config["db_url"],  # server A's registry, and its pooled sessions
        endpoints={"test": {"url": livy_url}},
        default_endpoint="test",
        max_sessions_per_user=0,  # as server A: one user's notebooks race for the pool
    )
    try:
        await asyncio.to_thread(server_b.__enter__)  # a server that never answers is stopped too
        server_b_http = httpx.AsyncClient(
            base_url=f"{server_b.url}/", headers=server_b.headers, timeout=300
        )
        async with server_a, server_b_http:
            sessions = await asyncio.gather(
                *(attach_on(server_a, f"two/a{i}.ipynb") for i in range(25)),
                *(attach_on(server_b_http, f"two/b{i}.ipynb") for i in range(25)),
            )
    finally:
        await asyncio.to_thread(server_b.__exit__, None, None, None)
    ids = [s["id"] for s in sessions]
    assert len(set(ids)) == 50
    assert set(ids) & pool == pool  # every pooled session claimed, each by one notebook
    assert await pooled_ids(broker) == set()


async def test_an_attach_that_asks_settings_leaves_the_pool(api, broker_app, ends):
    await until_warm(api)
    pool = await pooled_ids(broker_app.broker)
    configured = await api.post(
        "attachments", {"path": "own/a.ipynb", "settings": {"conf": {"spark.x": "1"}}}
    )
    assert configured.status == 201 and configured.json["session_id"] not in pool
    assert await pooled_ids(broker_app.broker) == pool


async def test_the_per_user_cap_holds_for_claims(api, broker_app, ends):
    await restart_broker(broker_app, max_sessions_per_user=1)
    await until_warm(api)
    assert (await api.post("attachments", {"path": "cap/a.ipynb"})).status == 201
    over = await api.post("attachments", {"path": "cap/b.ipynb"})
    assert over.status == 429 and over.json["reason"] == "session_cap"


async def test_a_restarted_broker_re_adopts_its_pool(api, broker_app, ends):
    await until_warm(api)
    before = await pooled_ids(broker_app.broker)
    await restart_broker(broker_app)  # endpoint 'test' is not embedded: its sessions live on
    broker = broker_app.broker
    assert await pooled_ids(broker) == before
    assert await broker.pool.refill() == 0  # nothing missing, nothing new
    await until_warm(api)
    claimed = await api.post("attachments", {"path": "readopted/a.ipynb"})
    assert claimed.json["session_id"] in before


@pytest.fixture
def embedded_pool(broker_config) -> dict:
    broker_config["profiles"] = {"here": {"endpoint": "local"}}
    broker_config["warm_pool"] = {"here": 1}
    return broker_config


async def test_pooled_sessions_on_the_embedded_livy_end_with_the_broker(
    embedded_pool, api, broker_app
):
    await until_warm(api, 1, "here")
    (pooled,) = await broker_app.broker.pool.pooled("here")
    await broker_app.stop_extension()
    registry = Registry(embedded_pool["db_url"])  # the broker closed its own
    await registry.open()
    try:
        record = await registry.get_session(pooled.id)
    finally:
        await registry.close()
    assert record.state == "killed" and "embedded local Livy stopped" in record.message


@pytest.fixture
def impersonating(broker_config) -> dict:
    broker_config["impersonate"] = True
    return broker_config


async def test_there_is_no_pool_under_impersonate(impersonating, api, broker_app):
    broker = broker_app.broker
    assert broker.pool.targets == {}
    assert await broker.pool.refill() == 0
    assert await warm(api) == 0
    assert await broker.pool.pooled("default") == []


async def test_a_claim_takes_a_starting_pooled_session_rather_than_start_another(
    api, broker_app, livy_url, ends
):
    """With no warm session, a new notebook takes the pooled one nearest to ready: started (Livy
    has it) before one whose create is still under way (no Livy id yet); never a new one."""
    await until_warm(api)
    broker = broker_app.broker
    await broker.pool.stop()  # the test fills the pool itself
    for index in range(POOL):  # the warm ones go first
        claimed = await api.post("attachments", {"path": f"starting/warm{index}.ipynb"})
        assert claimed.json["origin"] == "warm_pool"
    profile = broker.profile_catalog.get("default")
    started = await broker.pool.start_pooled(profile, f"pool:default:{new_id()}")
    in_flight_id = new_id()  # a row as a create makes it before its Livy call returns
    await broker.registry.insert_session(
        id=in_flight_id,
        endpoint="test",
        livy_name=f"in-flight-{in_flight_id}",
        kind="pyspark",
        state="not_started",
        owner=POOL_OWNER,
        share_key=f"pool:default:{in_flight_id}",
        config={},
        unattached_since=None,
        profile="default",
    )
    async with LivyClient(livy_url) as livy:
        livy_sessions = (await livy.list_sessions()).total

        first = await api.post("attachments", {"path": "starting/first.ipynb"})
        assert first.status == 201 and first.json["origin"] == "warm_pool"
        assert first.json["session_id"] == started.id
        second = await api.post("attachments", {"path": "starting/second.ipynb"})
        assert second.status == 201 and second.json["origin"] == "warm_pool"
        assert second.json["session_id"] == in_flight_id
        assert second.json["session"]["livy_id"] is None  # its create completes the same row
        assert (await livy.list_sessions()).total == livy_sessions  # nothing new started
    third = await api.post("attachments", {"path": "starting/third.ipynb"})
    assert third.status == 201 and third.json["origin"] == "new"
    again = await api.post("attachments", {"path": "starting/third.ipynb"})
    assert again.status == 200 and again.json["origin"] == "live"
    assert (await api.delete(f"sessions/{in_flight_id}")).status == 204


@pytest.fixture
def shipped_default(broker_config) -> dict:
    broker_config["warm_pool"] = None  # SparkProfiles.warm_pool's own default
    return broker_config


@pytest.fixture
def on_the_embedded_livy(shipped_default) -> dict:
    shipped_default["default_endpoint"] = "local"
    return shipped_default


async def test_the_embedded_default_endpoint_keeps_one_warm_session(
    on_the_embedded_livy, api, broker_app
):
    broker = broker_app.broker
    assert broker.pool.targets == {"default": 1}
    await until_warm(api, 1)
    (pooled,) = await broker.pool.pooled("default")
    assert pooled.endpoint == "local"
    claimed = await api.post("attachments", {"path": "shipped/first.ipynb"})
    assert claimed.status == 201 and claimed.json["origin"] == "warm_pool"
    assert claimed.json["session_id"] == pooled.id

    async def refilled() -> bool:  # at once, not at the next round of the refill loop
        now = await broker.pool.pooled("default")
        return len(now) == 1 and now[0].id != pooled.id

    await eventually(refilled, what="the pool's next session")


async def test_a_livy_of_the_site_gets_no_pool_by_default(shipped_default, api, broker_app):
    assert await warm(api) == 0  # the default endpoint 'test' is a Livy with a URL
    broker = broker_app.broker
    assert broker.pool.targets == {}
    assert await broker.pool.refill() == 0
    assert await broker.pool.pooled("default") == []


async def test_an_empty_warm_pool_turns_the_default_off(on_the_embedded_livy, api, broker_app):
    await restart_broker(broker_app, warm_pool={})
    broker = broker_app.broker
    assert broker.pool.targets == {}
    assert await broker.pool.refill() == 0
