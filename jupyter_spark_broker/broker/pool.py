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
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from .. import metrics
from ..livy import LivyError
from ..livy.names import KIND_ALIASES, SESSION_READY_STATES
from ..registry.registry import SessionRecord, new_id
from ..support.json_types import JSONObject
from .backends import NewSession
from .caps import POOL_OWNER, SessionCaps
from .endpoints import SparkEndpoints
from .errors import BrokerError
from .live import LiveSessions
from .profiles import Profile, SparkProfiles

log = logging.getLogger("jupyter_spark_broker")

POOL_PREFIX = "pool:"
STATUSES = ("warm", "starting")


def pool_key_prefix(profile: str) -> str:
    return f"{POOL_PREFIX}{profile}:"


class PoolSettings(Protocol):
    """The broker's settings the pool reads (its traits, read live)."""

    impersonate: bool
    default_kind: str
    busy_poll_interval: float
    reap_interval: float
    session_start_timeout: float


class WarmPool:
    def __init__(
        self,
        live: LiveSessions,
        catalog: SparkProfiles,
        caps: SessionCaps,
        settings: PoolSettings,
        create: Callable[[NewSession], Awaitable[SessionRecord]],
    ):
        self.live = live
        self.registry = live.registry
        self.endpoints: SparkEndpoints = live.endpoints
        self.catalog = catalog
        self.caps = caps
        self.settings = settings
        self.create = create  # Livy's create: when no pooled session fits, and to fill the pool
        self.targets = self._targets()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._primed: set[str] = set()  # pooled sessions that ran the warm-up (or need none)
        self._priming: dict[str, asyncio.Task[None]] = {}

    def _configured(self) -> dict[str, int]:
        """The pool asked for: ``warm_pool``, else one session of the default profile when it runs
        on the embedded Livy, where a new session is a new JVM on this machine: 10 to 50 s that a
        new notebook should not wait for. A cluster's Livy is the site's to spend, so no default."""
        if self.catalog.warm_pool is not None:
            return dict(self.catalog.warm_pool)
        default = self.catalog.get("default")
        if self.settings.impersonate or not self.endpoints.is_embedded(
            self.catalog.endpoint_of(default)
        ):
            return {}
        return {"default": 1}

    def _targets(self) -> dict[str, int]:
        """profile -> sessions to keep, within ``warm_pool_max_total`` (in the order configured)."""
        targets: dict[str, int] = {}
        catalog = self.catalog
        room = catalog.warm_pool_max_total
        configured = self._configured()
        if self.settings.impersonate and configured:
            log.warning(
                "spark broker: no warm pool under impersonate (a pooled session cannot change "
                "the user it runs as); warm_pool is ignored"
            )
            return {}
        for name, count in configured.items():
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
            # Cleared before the round, not after: a claim during the round wakes the next one.
            self._wake.clear()
            try:
                await self.refill()
                waiting = await self.prime_idle()
            except Exception:
                log.exception("spark broker: refilling the warm pool failed")
            # While a pooled session is still starting, look again soon to warm it up once idle.
            interval = self.settings.busy_poll_interval if waiting else self.settings.reap_interval
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)

    async def refill(self) -> int:
        """Start the sessions each profile lacks (live pooled rows, re-adopted ones included, count);
        how many were started."""
        started = 0
        for name, target in self.targets.items():
            missing = target - len(await self.pooled(name))
            for _ in range(missing):
                profile = self.catalog.get(name)
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
        code = self.catalog.warm_pool_warmup.get(kind)
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
            livy = await self.endpoints.client(record.endpoint)
            statement = await livy.run_statement(
                record.livy_ref, code, kind=kind, timeout=self.settings.session_start_timeout
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

    def serves(self, profile: Profile, endpoint: str, kind: str | None, asked: JSONObject) -> bool:
        """A pooled session fits a request that asks nothing its profile does not give."""
        default_kind = self.settings.default_kind
        return (
            not self.settings.impersonate
            and not asked
            and KIND_ALIASES[kind or default_kind] == KIND_ALIASES[default_kind]
            and endpoint == self.catalog.endpoint_of(profile)
        )

    async def claim(self, profile: str, *, share_key: str, owner: str) -> SessionRecord | None:
        """Take one pooled session of ``profile`` for ``share_key``: warm ones first, then ready,
        then starting ones, oldest first (the nearest to ready); None when the pool is empty.
        A starting one is still sooner than a new one, which would also compete with it for the
        machine. One whose Livy create is under way (no ``livy_id`` yet) is taken too: the create
        completes the same row, whoever holds it by then. :class:`ShareKeyTaken` when another
        server gave ``share_key`` a session."""
        candidates = sorted(
            await self.pooled(profile),
            key=lambda r: (
                not self._is_warm(r),
                r.state not in SESSION_READY_STATES,
                r.livy_id is None,
                r.created,
            ),
        )
        for candidate in candidates:
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

    async def claim_or_create(self, new: NewSession) -> tuple[SessionRecord, bool]:
        """A notebook's new session, and whether it came from the pool: a pooled one of its
        profile when one fits, else a new one (always new with Connect: pooled sessions run no
        Connect plugin)."""
        fits = self.serves(new.profile, new.endpoint, new.kind, dict(new.overrides))
        if new.livy_connect is None and fits and new.share_key is not None:
            async with self.caps.within(new.user):
                claimed = await self.claim(
                    new.profile.name, share_key=new.share_key, owner=new.user
                )
            if claimed is not None:
                return self.live.remember(claimed), True
        return await self.create(new), False

    async def start_pooled(self, profile: Profile, share_key: str) -> SessionRecord:
        """A session for the pool: counted as attached, so never reaped as idle."""
        endpoint = self.catalog.endpoint_of(profile)
        return await self.create(
            NewSession(POOL_OWNER, endpoint, profile, share_key, path="warm pool")
        )


__all__ = ["WarmPool", "pool_key_prefix"]
