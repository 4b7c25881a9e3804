"""Livy's load against the number of Jupyter servers sharing one registry (issue: one poller per
endpoint).

    .venv/bin/python benchmarks/poll_lease.py [--servers 1,5,20,50] [--sessions 10]
        [--quiet-seconds 60] [--busy-seconds 30] [--out poll_lease.json]

Runs K brokers in this one process (the domain without Jupyter: ``tests/domain_brokers.py``), each
with its loops running at the default timings (state poll 5 s quiet and 0.5 s busy, keep-alive 60 s,
reaper 30 s, lease 15 s), on one real PostgreSQL registry (``tests/postgres_server.py``, a fresh
database for each K), against one real local Livy (``--spark off``: plain-Python sessions; Livy's
REST answers are what is counted, not Spark) holding N real sessions, created through the brokers
in turn as the users of K servers would. Each broker reaches Livy through a proxy of its own that
counts every request (``tests/faults/proxy.py``).

For each K it waits until every broker has started (each lists every endpoint once when it starts:
not counted), then counts Livy's requests for ``--quiet-seconds`` with every session idle, and for
``--busy-seconds`` while one session runs a statement (``time.sleep``), and reports them per minute:
list calls (``GET /sessions``, each page), one-session reads (``GET /sessions/{id}``), keep-alive
(``POST /sessions/{id}/connect`` for attached sessions, ``GET /sessions/{id}/state`` for the others:
these are unattached) and all.

To measure the code before the lease, put that checkout's package first on the path, this
repository's ``tests`` after it:

    mkdir /tmp/before && ln -s /path/to/main/jupyter_spark_broker /tmp/before/
    PYTHONPATH=/tmp/before:$PWD .venv/bin/python benchmarks/poll_lease.py

Prints a table and one JSON line; record results in benchmarks/README.md. Not a CI test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import tempfile
import time
from pathlib import Path

from proc_stats import machine, repository_on_path

import jupyter_spark_broker
from jupyter_spark_broker.broker.broker import SparkBroker
from jupyter_spark_broker.livy import LivyClient
from jupyter_spark_broker.livy_local import LocalLivyProcess

repository_on_path()
from tests.domain_brokers import ENDPOINT, LIST_CALL, DomainBroker, open_broker  # noqa: E402
from tests.postgres_server import PostgresServer  # noqa: E402

ONE_SESSION = re.compile(r"^/sessions/\d+$")  # a server following a session it created
# The keep-alive: POST .../connect for attached sessions, GET .../state (Livy's heartbeat) for others.
KEEP_ALIVE = re.compile(r"^/sessions/\d+/(connect|state)$")
# The defaults, spelled out: the figures are for them. The lease only where the code has one.
TIMINGS = {
    "poll_interval": 5.0,
    "busy_poll_interval": 0.5,
    "keepalive_interval": 60.0,
    "reap_interval": 30.0,
    "poll_lease_period": 15.0,
}


def count(brokers: list[DomainBroker]) -> dict[str, int]:
    counts = {"list": 0, "one_session": 0, "keep_alive": 0, "all": 0}
    for broker in brokers:
        for method, path, _ in list(broker.proxy.seen):
            counts["all"] += 1
            if method == "GET" and LIST_CALL.match(path):
                counts["list"] += 1
            elif method == "GET" and ONE_SESSION.match(path):
                counts["one_session"] += 1
            elif KEEP_ALIVE.match(path):
                counts["keep_alive"] += 1
    return counts


def per_minute(before: dict[str, int], after: dict[str, int], seconds: float) -> dict[str, float]:
    return {key: round((after[key] - before[key]) * 60.0 / seconds, 1) for key in after}


async def window(brokers: list[DomainBroker], seconds: float) -> dict[str, float]:
    before, started = count(brokers), time.monotonic()
    await asyncio.sleep(seconds)  # the brokers' own loops run meanwhile: this is what is measured
    return per_minute(before, count(brokers), time.monotonic() - started)


async def measure(
    servers: int, sessions: int, pg: PostgresServer, livy_url: str, workdir: Path, options
) -> dict[str, object]:
    db_url = pg.new_database()
    settings = {k: v for k, v in TIMINGS.items() if k in SparkBroker.class_trait_names()}
    brokers: list[DomainBroker] = []
    try:
        for _ in range(servers):
            brokers.append(
                await open_broker(db_url, livy_url, workdir / "key", start=True, **settings)
            )
        created = []
        for number in range(sessions):  # as the users of the K servers would, one user each
            broker = brokers[number % servers].broker
            record, _ = await broker.create_session(
                f"user{number}", endpoint=ENDPOINT, kind=None, overrides={}
            )
            created.append(record)
        async with LivyClient(livy_url) as livy:
            for record in created:
                ready = await livy.wait_for_session(record.livy_name, timeout=120)
                assert ready.is_ready, ready
            quiet = await window(brokers, options.quiet_seconds)
            sleep = f"import time; time.sleep({options.busy_seconds + 15})"
            await livy.create_statement(created[0].livy_name, sleep)
            await asyncio.sleep(2)  # the brokers see it busy
            busy = await window(brokers, options.busy_seconds)
            for record in created:
                await livy.delete_session(record.livy_name)
    finally:
        for broker in brokers:
            await broker.close()
    return {"servers": servers, "sessions": sessions, "quiet": quiet, "busy": busy}


async def main(options) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="jsb-poll-lease-"))
    pg_dir = Path(tempfile.mkdtemp(prefix="jsb-poll-lease-pg-"))
    livy = LocalLivyProcess(["--spark", "off"])
    livy.start()
    results = []
    facts = {
        "machine_before": machine(),
        "package": str(Path(jupyter_spark_broker.__file__).parent),
    }
    try:
        with PostgresServer(pg_dir) as pg:
            for servers in options.servers:
                result = await measure(servers, options.sessions, pg, livy.url, workdir, options)
                results.append(result)
                print(
                    f"K={servers:3d} N={options.sessions}  quiet {result['quiet']}  "
                    f"busy {result['busy']}",
                    flush=True,
                )
    finally:
        livy.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(pg_dir, ignore_errors=True)
    facts["machine_after"] = machine()
    print()
    print(
        "| K servers | phase | list calls/min | one-session reads/min | keep-alive/min | all/min |"
    )
    print("|---|---|---|---|---|---|")
    for result in results:
        for phase in ("quiet", "busy"):
            row = result[phase]
            print(
                f"| {result['servers']} | {phase} | {row['list']:g} | {row['one_session']:g} | "
                f"{row['keep_alive']:g} | {row['all']:g} |"
            )
    line = json.dumps({"results": results, **facts})
    print(line)
    if options.out:
        Path(options.out).write_text(line + "\n")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--servers", type=lambda text: [int(k) for k in text.split(",")], default=[1, 5, 20, 50]
    )
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--quiet-seconds", type=float, default=60.0)
    parser.add_argument("--busy-seconds", type=float, default=30.0)
    parser.add_argument("--out")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
