"""One state poller per endpoint across the servers sharing a registry: a lease row in the registry.

Several brokers (the domain without Jupyter, ``tests/domain_brokers.py``) on one registry, a SQLite
file and a real PostgreSQL, each reaching one real local Livy through a proxy of its own that counts
its requests. The tests drive the poller's rounds directly: only the lease holder lists the endpoint;
another takes the lease over when the holder stops, or stops renewing it (a crash); the states the
holder writes reach every broker, as registry rows and as each broker's events; a broker still
follows the sessions it created one by one.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

import pytest

from jupyter_spark_broker.livy import LivyClient
from tests.conftest import delete_unpooled_sessions
from tests.domain_brokers import ENDPOINT, DomainBroker, open_broker
from tests.helpers import eventually

LEASE = 2.0  # seconds: the tests wait through it for a takeover
USER = "alice"

OpenBroker = Callable[[], Awaitable[DomainBroker]]


@pytest.fixture(scope="module")
def lease_livy_url(start_local_livy) -> str:
    """A Livy of this module's own: the brokers list every session on it."""
    return start_local_livy("--spark", "off").url


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/registry.sqlite"
    return request.getfixturevalue("postgres_db_url")


@pytest.fixture
def open_brokers(registry_url, lease_livy_url, tmp_path, jp_asyncio_loop) -> Iterator[OpenBroker]:
    opened: list[DomainBroker] = []

    async def open_one() -> DomainBroker:
        broker = await open_broker(
            registry_url, lease_livy_url, tmp_path / "secret.key", poll_lease_period=LEASE
        )
        opened.append(broker)
        return broker

    yield open_one

    async def close_all() -> None:
        for broker in opened:
            await broker.close()
        await delete_unpooled_sessions(lease_livy_url)

    jp_asyncio_loop.run_until_complete(close_all())


async def create_session(broker: DomainBroker, endpoint: str = ENDPOINT) -> str:
    record, _ = await broker.broker.create_session(USER, endpoint=endpoint, kind=None, overrides={})
    return record.id


async def holder(broker: DomainBroker) -> str | None:
    return (await broker.broker.registry.lease_holders()).get(ENDPOINT)


async def rounds(brokers: list[DomainBroker]) -> None:
    for broker in brokers:
        await broker.round()


async def idle_everywhere(brokers: list[DomainBroker], session_id: str) -> bool:
    """Each broker's view of the session (the one its API serves) is idle."""
    await rounds(brokers)
    views = [{r.id: r.state for r in b.broker.live.records()}.get(session_id) for b in brokers]
    return all(state == "idle" for state in views)


async def test_only_the_holder_lists_and_states_reach_every_broker(open_brokers):
    brokers = [await open_brokers() for _ in range(3)]
    first, *others = brokers
    await first.round()  # no session yet: no listing, no lease
    assert await holder(first) is None and first.list_calls() == 0

    session_id = await create_session(first)
    await eventually(
        lambda: idle_everywhere(brokers, session_id), what="the session idle on every broker"
    )
    holder_id = await holder(first)
    assert holder_id == first.server_id  # the first to poll it after the create
    assert [b.list_calls() > 0 for b in brokers] == [True, False, False]
    assert all(b.events.states_of(session_id)[-1] == "idle" for b in brokers), [
        b.events.states_of(session_id) for b in brokers
    ]

    before = [b.list_calls() for b in brokers]
    for _ in range(5):
        await rounds(brokers)
    assert [b.list_calls() - n for b, n in zip(brokers, before, strict=True)] == [5, 0, 0]
    assert await holder(first) == holder_id  # renewed every round

    # The holder keeps the endpoint's sessions alive; the others send Livy nothing for them.
    before = [b.requests() for b in brokers]
    for broker in brokers:
        await broker.broker.lifecycle.keep_alive()
    assert [b.requests() - n for b, n in zip(brokers, before, strict=True)] == [1, 0, 0]

    # A kill through another broker reaches the holder's view, and the first's events.
    await others[0].broker.kill_session(USER, session_id)
    await rounds(brokers)
    assert session_id not in {r.id for b in brokers for r in b.broker.live.records()}
    assert first.events.states_of(session_id)[-1] == "killed"


async def test_a_broker_follows_the_sessions_it_created_one_by_one(open_brokers):
    listing, creator = await open_brokers(), await open_brokers()
    await create_session(listing)
    await listing.round()  # it holds the lease
    assert await holder(listing) == listing.server_id

    session_id = await create_session(creator)
    livy_id = (await creator.broker.registry.get_session(session_id)).livy_id

    async def idle_on_the_creator() -> bool:
        # The creator's round first: it asks Livy itself (the row says starting after the create),
        # before the listing broker (which renews its lease) has seen the session.
        await creator.round()
        seen_by_creator = await creator.broker.registry.get_session(session_id)
        await listing.round()
        return seen_by_creator.state == "idle"

    await eventually(idle_on_the_creator, what="the creator seeing its session idle")
    asked = [path for method, path, _ in creator.proxy.seen if method == "GET"]
    assert f"/sessions/{livy_id}" in asked
    assert creator.list_calls() == 0


async def test_each_broker_lists_its_own_embedded_livy_unleased(open_brokers):
    brokers = [await open_brokers() for _ in range(2)]
    made = [(broker, await create_session(broker, endpoint="local")) for broker in brokers]

    async def idle_on_its_broker() -> bool:
        states = []
        for broker, session_id in made:
            await broker.round()
            states.append((await broker.broker.registry.get_session(session_id)).state)
        return states == ["idle", "idle"]

    await eventually(idle_on_its_broker, what="each embedded session idle", timeout=60)
    assert await brokers[0].broker.registry.lease_holders() == {}
    assert [b.list_calls() for b in brokers] == [0, 0]  # nothing went to the shared Livy


@pytest.mark.parametrize("how", ["stopped", "crashed"])
async def test_another_broker_takes_the_lease_over_when_the_holder_ends(
    open_brokers, lease_livy_url, how
):
    first, second = await open_brokers(), await open_brokers()
    session_id = await create_session(first)
    renewing_from = time.monotonic()
    await first.round()
    renewed_by = time.monotonic()
    await second.round()
    assert await holder(first) == first.server_id and second.list_calls() == 0

    if how == "stopped":  # a server that shuts down ends its lease
        await first.close()
    # "crashed": the first broker's rounds just stop, and its lease runs out

    async def taken_over() -> bool:
        await second.round()
        return await holder(second) == second.server_id

    await eventually(taken_over, what="the second broker holding the lease", timeout=4 * LEASE)
    taken_at = time.monotonic()
    assert taken_at - renewed_by < 2 * LEASE  # the bound operators are promised
    if how == "crashed":  # not before the lease ran out (the registry's clock, read to the µs)
        assert taken_at - renewing_from >= LEASE - 0.01

    # The new holder lists the endpoint and follows Livy: a session gone behind the brokers'
    # backs is lost.
    livy_id = (await second.broker.registry.get_session(session_id)).livy_id
    async with LivyClient(lease_livy_url) as livy:
        await livy.delete_session(livy_id)
    calls = second.list_calls()
    await second.round()
    assert second.list_calls() == calls + 1
    assert (await second.broker.registry.get_session(session_id)).state == "lost"
