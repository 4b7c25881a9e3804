"""Prometheus series of the broker, on jupyter_server's own ``/metrics``.

jupyter_server serves prometheus_client's default registry at ``{base_url}metrics`` (token or login
needed unless ``ServerApp.authenticate_prometheus`` is off), so every series here is defined on that
registry once per process, prefixed ``spark_broker_``. Several brokers in one process (tests that
restart one) add to the same counters; the session gauge sums the brokers that are running.

The ``endpoint`` label is a configured endpoint's name, or ``runtime`` for the endpoints users add
at run time (``SparkEndpoints.metric_label``). The ``profile`` label is the session's profile
(``default`` for rows from before profiles); the ``protocol`` label says how clients reach a
session: ``livy``, ``connect`` (a Spark Connect session) or ``livy+connect`` (a Livy session whose
Spark also serves Connect clients).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from prometheus_client import REGISTRY, Histogram
from prometheus_client import Counter as CounterMetric
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .livy import LivyError, Statement

PREFIX = "spark_broker_"
DEFAULT_PROFILE = "default"
# The ``endpoint`` label of every user's run-time endpoint: its name holds the user and the URL, and
# /metrics is read by more than its user.
RUNTIME_ENDPOINT = "runtime"

# Seconds. A trivial statement takes milliseconds, a Spark job minutes; Livy calls up to the timeouts.
STATEMENT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)
LIVY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120)

SESSION_CREATIONS = CounterMetric(
    PREFIX + "session_creations",
    "Livy sessions this server created.",
    ["endpoint", "profile"],
)
SESSIONS_ENDED = CounterMetric(
    PREFIX + "sessions_ended",
    "Sessions this server saw end, by the state they ended in (killed, lost, dead, error...).",
    ["endpoint", "profile", "state"],
)
ATTACHES = CounterMetric(
    PREFIX + "attaches",
    "Notebooks attached; result: new_session (created for it) or existing_session; protocol: "
    "what the attach asked for (livy, connect, livy+connect).",
    ["endpoint", "profile", "result", "protocol"],
)
CONNECT_SERVER_STARTS = CounterMetric(
    PREFIX + "connect_server_starts",
    "Spark Connect servers the broker started itself, by profile; outcome ok or failed.",
    ["profile", "outcome"],
)
DETACHES = CounterMetric(
    PREFIX + "detaches",
    "Attachments ended; reason: request (DELETE attachments), kernel_gone (the reaper) or "
    "session_ended (their session was killed or ended).",
    ["reason"],
)
RUNS = CounterMetric(
    PREFIX + "runs",
    "Headless runs (papermill, nbconvert, schedulers); event: started (a run attached), ended (its "
    "kernel shut down and detached) or lost (its kernel stopped beating: killed, or its host gone).",
    ["event"],
)
STATEMENT_SECONDS = Histogram(
    PREFIX + "statement_seconds",
    "A statement from the broker's POST to Livy until the broker saw it finished. outcome: ok, "
    "error (the code raised), cancelled, livy_error (Livy failed), unfinished (nobody waited).",
    ["endpoint", "outcome"],
    buckets=STATEMENT_BUCKETS,
)
LIVY_REQUEST_SECONDS = Histogram(
    PREFIX + "livy_request_seconds",
    "One HTTP attempt to Livy (each retry counts). outcome: ok, client_error, server_error, "
    "unexpected, unreachable, timeout, auth_failed, aborted.",
    ["endpoint", "method", "route", "outcome"],
    buckets=LIVY_BUCKETS,
)
LIVY_ERRORS = CounterMetric(
    PREFIX + "livy_errors",
    "Livy calls that failed after their retries, by kind: unreachable, timeout, not_found, "
    "rejected, server_error, protocol, auth_failed.",
    ["endpoint", "kind"],
)
KEEPALIVE_ACTIONS = CounterMetric(
    PREFIX + "keepalive_actions",
    "Keep-alive calls: connect (attached sessions) or heartbeat (unattached), ok or failed.",
    ["endpoint", "action", "outcome"],
)
ORPHANS_DELETED = CounterMetric(
    PREFIX + "orphans_deleted",
    "Livy sessions the broker made but no longer tracks (a create whose reply was lost), deleted.",
    ["endpoint"],
)
REAPER_ACTIONS = CounterMetric(
    PREFIX + "reaper_actions",
    "Reaper actions: detach (a kernel is gone) or kill (unattached for idle_timeout), ok or failed.",
    ["action", "outcome"],
)
WARM_POOL_CLAIMS = CounterMetric(
    PREFIX + "warm_pool_claims",
    "New notebooks given a pooled session of their profile instead of a new one.",
    ["profile"],
)


class LivyMetrics:
    """The Livy client's observer for one endpoint (see ``jupyter_spark_broker.livy.observe``)."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint

    def request_done(self, method: str, route: str, outcome: str, seconds: float) -> None:
        LIVY_REQUEST_SECONDS.labels(self.endpoint, method, route, outcome).observe(seconds)

    def call_failed(self, error: LivyError) -> None:
        LIVY_ERRORS.labels(self.endpoint, error.kind).inc()


def statement_outcome(statement: Statement | None) -> str:
    if statement is None or not statement.is_finished:
        return "unfinished"
    if statement.state == "cancelled":
        return "cancelled"
    if statement.state == "error" or (statement.output is not None and statement.output.is_error):
        return "error"
    return "ok"


class StatementTimer:
    """Started when the broker sends a statement to Livy; observed once, when it is seen finished
    (or given up on). Later calls of :meth:`finish` do nothing, so every path may call it."""

    __slots__ = ("endpoint", "started", "done")

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.started = time.monotonic()
        self.done = False

    def finish(self, outcome: str) -> None:
        if not self.done:
            self.done = True
            STATEMENT_SECONDS.labels(self.endpoint, outcome).observe(
                time.monotonic() - self.started
            )


class SessionSource(Protocol):
    def session_counts(self) -> Iterable[tuple[tuple[str, str, str, str], int]]:
        """((state, endpoint, profile, protocol), count) of the sessions this broker knows as live."""

    def connect_server_counts(self) -> Iterable[tuple[tuple[str, str], int]]:
        """((profile, state), count) of the Spark Connect servers this broker runs (their process
        lives): state in_use (a user's) or warm (started ahead, nobody's yet)."""

    def pool_counts(self) -> Iterable[tuple[tuple[str, str], int]]:
        """((profile, status), count) of the warm pool: status ``warm`` or ``starting``."""


class _SessionGauge(Collector):
    """``spark_broker_sessions``, ``spark_broker_connect_servers`` and
    ``spark_broker_warm_pool_sessions``: read from the running brokers at scrape time, never stale."""

    def __init__(self) -> None:
        self._sources: weakref.WeakSet[SessionSource] = weakref.WeakSet()
        self._lock = threading.Lock()  # scrapes may come from prometheus_client's own thread

    def add(self, source: SessionSource) -> None:
        with self._lock:
            self._sources.add(source)

    def discard(self, source: SessionSource) -> None:
        with self._lock:
            self._sources.discard(source)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            sources = list(self._sources)
        totals: Counter[tuple[str, str, str, str]] = Counter()
        servers: Counter[tuple[str, str]] = Counter()
        pooled: Counter[tuple[str, str]] = Counter()
        for source in sources:
            for labels, count in source.session_counts():
                totals[labels] += count
            for server_labels, count in source.connect_server_counts():
                servers[server_labels] += count
            for pool_labels, count in source.pool_counts():
                pooled[pool_labels] += count
        family = GaugeMetricFamily(
            PREFIX + "sessions",
            "Live sessions in the registry as this server sees them, by state, endpoint, profile and "
            "protocol (servers sharing a registry each report all of them: take the max, not the sum).",
            labels=["state", "endpoint", "profile", "protocol"],
        )
        for labels, count in sorted(totals.items()):
            family.add_metric(list(labels), count)
        yield family
        family = GaugeMetricFamily(
            PREFIX + "connect_servers",
            "Spark Connect servers this Jupyter server runs itself (one Spark application per user "
            "and profile), by profile; state in_use (a user's) or warm (started ahead, nobody's).",
            labels=["profile", "state"],
        )
        for (profile, state), count in sorted(servers.items()):
            family.add_metric([profile, state], count)
        yield family
        pool_family = GaugeMetricFamily(
            PREFIX + "warm_pool_sessions",
            "Unclaimed pooled sessions by profile: warm (ready, warm-up done) or starting.",
            labels=["profile", "status"],
        )
        for (profile, status), count in sorted(pooled.items()):
            pool_family.add_metric([profile, status], count)
        yield pool_family

    def describe(self) -> list:
        return []  # no fixed samples: registering must not call collect() before a broker exists


SESSION_GAUGE = _SessionGauge()
REGISTRY.register(SESSION_GAUGE)


def count_attach(endpoint: str, created: bool, profile: str | None, protocol: str) -> None:
    result = "new_session" if created else "existing_session"
    ATTACHES.labels(endpoint, profile or DEFAULT_PROFILE, result, protocol).inc()


def protocol_of(record: Any) -> str:
    """livy, connect, or livy+connect: a Livy row with a Connect session id (broker/livy_connect.py)."""
    if record.protocol == "livy" and record.connect_session_id is not None:
        return "livy+connect"
    return record.protocol


def count_sessions(
    records: Iterable[Any], endpoint_label: Callable[[str], str]
) -> Iterable[tuple[tuple[str, str, str, str], int]]:
    """Sessions by (state, endpoint label, profile, protocol)."""
    counts = Counter(
        (r.state, endpoint_label(r.endpoint), r.profile or DEFAULT_PROFILE, protocol_of(r))
        for r in records
    )
    return counts.items()
