"""The warm pool: started, unclaimed sessions per profile, handed to new notebooks in one registry write.

A pooled session is an ordinary registry row whose share key is ``pool:<profile>:<id>`` and whose owner
is :data:`POOL_OWNER`. It counts as attached (``unattached_since`` NULL), so the reaper leaves it and the
keep-alive refreshes it. An attach claims one by a conditional UPDATE of that share key to the
notebook's (:meth:`Registry.take_over`): among concurrent attaches, in this process or in other Jupyter
servers on the same registry, exactly one wins each session. The pool then refills in the background.

Once idle, a pooled session runs ``warm_pool_warmup`` (a tiny Spark job) so that the JVM's warm-up is
paid before a notebook claims it; only then is it counted warm. Which sessions ran it is this server's
memory: a re-adopted session runs it again, which costs little.

Pooled sessions on the embedded Livy end with it (``SparkBroker.stop``); those on other endpoints live
on, and the next broker re-adopts them (reconcile) and counts them before starting more.

Under ``impersonate`` there is no pool: a session runs as the proxyUser it was started with, and users
are not known before they ask, so a pooled session could only be handed to someone it does not run as.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING

from . import metrics
from .errors import BrokerError
from .json_types import JSONObject
from .livy import LivyError
from .livy.names import KIND_ALIASES, SESSION_READY_STATES
from .profiles import Profile, check_session_cap
from .registry import SessionRecord, ShareKeyTaken, new_id

if TYPE_CHECKING:
    from .broker import SparkBroker
    from .connect.plugin import LivyConnectPlan

log = logging.getLogger("jupyter_spark_broker")

POOL_OWNER = "(warm pool)"
POOL_PREFIX = "pool:"
STATUSES = ("warm", "starting")


def pool_key_prefix(profile: str) -> str:
    return f"{POOL_PREFIX}{profile}:"


class WarmPool:
    def __init__(self, broker: SparkBroker):
        self.broker = broker
        self.registry = broker.registry
        self.targets = self._targets()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._primed: set[str] = set()  # pooled sessions that ran the warm-up (or need none)
        self._priming: dict[str, asyncio.Task] = {}
        self._cap_locks: dict[str, asyncio.Lock] = {}  # per user: count and add one at a time

    def _targets(self) -> dict[str, int]:
        """profile -> sessions to keep, within ``warm_pool_max_total`` (in the order configured)."""
        broker, targets = self.broker, {}
        catalog = broker.profile_catalog
        room = catalog.warm_pool_max_total
        if broker.impersonate and catalog.warm_pool:
            log.warning(
                "spark broker: no warm pool under impersonate (a pooled session cannot change "
                "the user it runs as); warm_pool is ignored"
            )
            return {}
        for name, count in catalog.warm_pool.items():
            catalog.get(name)  # an unknown profile fails at start-up
            kept = max(0, min(int(count), room))
            if kept < count:
                log.warning(
                    "spark broker: warm pool of %r cut to %d (warm_pool_max_total = %d)",
                    name,
                    kept,
                    catalog.warm_pool_max_total,
                )
            if kept:
                targets[name] = kept
                room -= kept
        return targets

    # -- start, stop, refill --------------------------------------------------------------------

    def start(self) -> None:
        if self.targets and self._task is None:
            self._task = asyncio.create_task(self._refill_loop(), name="spark-broker-pool")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._priming.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None
        self._priming.clear()

    def wake(self) -> None:
        self._wake.set()

    async def _refill_loop(self) -> None:
        while True:
            waiting = False
            try:
                await self.refill()
                waiting = await self.prime_idle()
            except Exception:
                log.exception("spark broker: refilling the warm pool failed")
            self._wake.clear()
            # While a pooled session is still starting, look again soon to warm it up once idle.
            interval = self.broker.busy_poll_interval if waiting else self.broker.reap_interval
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)

    async def refill(self) -> int:
        """Start the sessions each profile lacks (live pooled rows, re-adopted ones included, count);
        how many were started."""
        started = 0
        for name, target in self.targets.items():
            missing = target - len(await self.pooled(name))
            for _ in range(missing):
                profile = self.broker.profile_catalog.get(name)
                try:
                    await self.start_pooled(profile, f"{pool_key_prefix(name)}{new_id()}")
                except BrokerError as error:
                    log.warning("spark broker: warm pool of %r: %s", name, error.message)
                    break
                started += 1
        return started

    # -- the warm-up ----------------------------------------------------------------------------

    def _warmup_of(self, record: SessionRecord) -> tuple[str, str] | None:
        """(statement kind, code) a pooled session runs once idle; None if it needs none."""
        kind = KIND_ALIASES.get(record.kind, record.kind)
        if kind == "shared":
            kind = "pyspark"
        code = self.broker.profile_catalog.warm_pool_warmup.get(kind)
        return (kind, code) if code else None

    async def prime_idle(self) -> bool:
        """Start the warm-up of each idle pooled session that has not run it; True while some
        pooled session is not yet primed (still starting, or running it)."""
        waiting = False
        for name in self.targets:
            for record in await self.pooled(name):
                if record.id in self._primed:
                    continue
                if self._warmup_of(record) is None:
                    self._primed.add(record.id)
                    continue
                waiting = True
                if record.state in SESSION_READY_STATES and record.id not in self._priming:
                    self._priming[record.id] = asyncio.create_task(
                        self._prime(record), name=f"spark-broker-warmup-{record.id}"
                    )
        return waiting

    async def _prime(self, record: SessionRecord) -> None:
        warmup = self._warmup_of(record)
        if warmup is None:  # prime_idle asked first; the profile was reloaded since
            return
        kind, code = warmup
        try:
            livy = await self.broker.endpoints.client(record.endpoint)
            statement = await livy.run_statement(
                record.livy_ref, code, kind=kind, timeout=self.broker.session_start_timeout
            )
            if statement.output is not None and statement.output.status != "ok":
                log.warning(
                    "spark broker: the warm-up of pooled session %s failed: %s",
                    record.id,
                    statement.output.evalue,
                )
        except (LivyError, BrokerError) as error:
            log.warning(
                "spark broker: the warm-up of pooled session %s failed: %s", record.id, error
            )
        finally:
            # Warm either way: a warm-up that fails would fail again, and the session still works.
            self._primed.add(record.id)
            self._priming.pop(record.id, None)
            self.wake()

    def _is_warm(self, record: SessionRecord) -> bool:
        return record.state in SESSION_READY_STATES and record.id in self._primed

    # -- what is there, and claiming it ---------------------------------------------------------

    def counts(self, live: Iterable[SessionRecord]) -> Iterable[tuple[tuple[str, str], int]]:
        """Unclaimed pooled sessions among ``live`` by (profile, warm or starting); every profile
        with a pool appears, at 0 when empty."""
        counts = Counter({(name, status): 0 for name in self.targets for status in STATUSES})
        for record in live:
            if (record.share_key or "").startswith(POOL_PREFIX):
                status = "warm" if self._is_warm(record) else "starting"
                counts[(record.profile or "default", status)] += 1
        return counts.items()

    async def pooled(self, profile: str) -> list[SessionRecord]:
        return await self.registry.live_with_share_prefix(pool_key_prefix(profile))

    async def warm(self, profile: str) -> int:
        """Pooled sessions of ``profile`` ready and warmed up now (re-adopted ones included)."""
        return sum(1 for record in await self.pooled(profile) if self._is_warm(record))

    def serves(self, profile: Profile, endpoint: str, kind: str | None, asked: dict) -> bool:
        """A pooled session fits a request that asks nothing its profile does not give."""
        broker = self.broker
        return (
            not broker.impersonate
            and not asked
            and KIND_ALIASES[kind or broker.default_kind] == KIND_ALIASES[broker.default_kind]
            and endpoint == broker.profile_catalog.endpoint_of(profile)
        )

    async def claim(self, profile: str, *, share_key: str, owner: str) -> SessionRecord | None:
        """Take one pooled session of ``profile`` for ``share_key``, ready ones first; None when the
        pool is empty. :class:`ShareKeyTaken` when another server gave ``share_key`` a session."""
        candidates = sorted(
            await self.pooled(profile),
            key=lambda r: (not self._is_warm(r), r.state not in SESSION_READY_STATES),
        )
        for candidate in candidates:
            if candidate.livy_id is None:
                continue  # its Livy create is still under way
            taken = await self.registry.take_over(
                candidate.id, from_share_key=candidate.share_key, share_key=share_key, owner=owner
            )
            if taken is not None:
                log.info("spark broker: %s claimed pooled session %s", owner, taken.id)
                metrics.WARM_POOL_CLAIMS.labels(profile).inc()
                self._primed.discard(taken.id)
                self.wake()
                return taken
        return None

    @contextlib.asynccontextmanager
    async def within_cap(self, user: str, *, exempt: bool) -> AsyncIterator[None]:
        """429 when ``user`` already holds ``max_sessions_per_user`` live sessions; else the body
        (which adds the user's session row) runs before this server counts for ``user`` again, so
        concurrent creates cannot all pass the cap. Servers sharing a registry count separately."""
        cap = self.broker.profile_catalog.max_sessions_per_user
        if exempt or not cap:
            yield
            return
        async with self._cap_locks.setdefault(user, asyncio.Lock()):
            check_session_cap(user, await self.registry.count_live(user), cap)
            yield

    async def claim_or_create(
        self,
        user: str,
        path: str,
        endpoint: str,
        kind: str | None,
        share_key: str,
        overrides: JSONObject,
        profile: Profile,
        connect: LivyConnectPlan | None = None,
    ) -> SessionRecord:
        """A notebook's new session: a pooled one of its profile when one fits, else a new one
        (always new with ``connect``: pooled sessions run no Connect plugin)."""
        broker = self.broker
        if connect is None and self.serves(profile, endpoint, kind, overrides):
            async with self.within_cap(user, exempt=broker.is_admin(user)):
                claimed = await self.claim(profile.name, share_key=share_key, owner=user)
            if claimed is not None:
                broker._remember(claimed)
                return claimed
        return await broker._create(
            user,
            endpoint,
            kind,
            share_key=share_key,
            overrides=overrides,
            attached=True,
            profile=profile,
            path=path,
            connect=connect,
        )

    async def start_pooled(self, profile: Profile, share_key: str) -> SessionRecord:
        """A session for the pool: counted as attached, so never reaped as idle."""
        return await self.broker._create(
            POOL_OWNER,
            self.broker.profile_catalog.endpoint_of(profile),
            None,
            share_key=share_key,
            overrides={},
            attached=True,
            profile=profile,
            path="warm pool",
        )


__all__ = ["POOL_OWNER", "ShareKeyTaken", "WarmPool", "pool_key_prefix"]
