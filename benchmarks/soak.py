"""A bounded soak: simulated kernels attach, run statements and restart against one broker for a while.

    .venv/bin/python benchmarks/soak.py [--kernels 20] [--minutes 20] [--think 0.05]
        [--statements-per-restart 25] [--kill-every 10] [--sample-every 15] [--out soak.json]

Starts a local Livy (``--spark off``: plain Python sessions, so the broker is what is measured, not
Spark) and a real ``jupyter server`` with the broker, as subprocesses on loopback. Each simulated kernel
speaks the broker's REST API exactly as the kernel-side thin client does (``jupyter_spark_broker.kernel``):

    attach its notebook -> N x (POST a statement, GET it with ?wait=30) -> detach (a kernel restart)
    -> attach again (the same live session) ... and every ``--kill-every`` restarts it kills its session
    first, so the next attach starts a new Livy session (session churn, worker processes come and go).

Every loop is bounded in time (the run's deadline, 60 s per request) and in count
(``--max-statements`` per kernel). Every ``--sample-every`` seconds it records the Jupyter server's
RSS, open file descriptors, threads and CPU, and the local Livy's (with its session workers). At the
end it checks that Livy's live sessions are exactly the registry's (nothing leaked or duplicated).

Prints a table and one JSON line; ``--out`` also writes the samples. Record results in
benchmarks/README.md. Not a CI test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from proc_stats import (
    children_cpu_seconds,
    children_rss_mib,
    machine,
    percentiles,
    process_stats,
    repository_on_path,
)

from jupyter_spark_broker.livy import LivyClient
from jupyter_spark_broker.livy_local import LocalLivyProcess

repository_on_path()
from tests.live_server import LiveJupyter  # noqa: E402

API = "/spark-broker/api/"
REQUEST_TIMEOUT = 60.0
LIVE_STATES = ("not_started", "starting", "recovering", "idle", "busy", "running")
WARM_UP = 60.0  # seconds before the "start" sample: every kernel has attached and run statements


@dataclass
class Tally:
    statements: list[tuple[float, float]] = field(default_factory=list)  # (finished at, seconds)
    attaches: list[float] = field(default_factory=list)
    restarts: int = 0
    kills: int = 0
    errors: Counter = field(default_factory=Counter)


async def kernel(
    number: int, http: httpx.AsyncClient, options, deadline: float, tally: Tally, t0: float
) -> None:
    path = f"soak/kernel-{number}.ipynb"
    rng = random.Random(number)
    sent = 0
    restarts = 0
    while time.monotonic() < deadline and sent < options.max_statements:
        try:
            started = time.perf_counter()
            attached = await http.post(API + "attachments", json={"path": path})
            attached.raise_for_status()
            tally.attaches.append(time.perf_counter() - started)
            session_id = attached.json()["session_id"]
            statements = f"{API}sessions/{session_id}/statements"
            for _ in range(options.statements_per_restart):
                if time.monotonic() >= deadline or sent >= options.max_statements:
                    break
                sent += 1
                started = time.perf_counter()
                posted = await http.post(statements, json={"code": f"n = {sent}\nn * 2"})
                posted.raise_for_status()
                statement = posted.json()
                if statement["state"] not in ("available", "error", "cancelled"):
                    reply = await http.get(f"{statements}/{statement['id']}", params={"wait": 30})
                    reply.raise_for_status()
                    statement = reply.json()
                elapsed = time.perf_counter() - started
                if statement.get("output", {}).get("data") != {"text/plain": str(sent * 2)}:
                    tally.errors["wrong result"] += 1
                else:
                    tally.statements.append((time.monotonic() - t0, elapsed))
                await asyncio.sleep(rng.uniform(0, 2 * options.think))
            restarts += 1
            tally.restarts += 1
            if options.kill_every and restarts % options.kill_every == 0:
                (await http.delete(f"{API}sessions/{session_id}")).raise_for_status()
                tally.kills += 1
            else:
                detached = await http.delete(f"{API}attachments/{attached.json()['id']}")
                detached.raise_for_status()
        except httpx.HTTPStatusError as error:
            tally.errors[f"{error.response.status_code} {error.request.method}"] += 1
            await asyncio.sleep(1.0)
        except httpx.TransportError as error:
            tally.errors[type(error).__name__] += 1
            await asyncio.sleep(1.0)


async def sampler(jupyter_pid: int, livy_pid: int, every: float, deadline: float, samples, t0):
    while True:
        samples.append(snapshot(jupyter_pid, livy_pid, time.monotonic() - t0))
        if time.monotonic() + every > deadline:
            return
        await asyncio.sleep(every)


def snapshot(jupyter_pid: int, livy_pid: int, at: float) -> dict[str, object]:
    return {
        "t_s": round(at, 1),
        "jupyter": process_stats(jupyter_pid),
        "livy": process_stats(livy_pid),
        "livy_workers_rss_mib": children_rss_mib(livy_pid),
        "livy_workers_cpu_s": round(children_cpu_seconds(livy_pid), 1),  # of the live ones
        "generator": process_stats(os.getpid()),
        "loadavg_1": round(os.getloadavg()[0], 2),
    }


async def leak_check(http: httpx.AsyncClient, livy_url: str) -> dict[str, object]:
    """Livy's live sessions against the registry's, by the unique name the broker gives each."""
    registry = []
    for state in LIVE_STATES:
        listing = await http.get(API + "sessions", params={"state": state, "limit": 1000})
        registry += [s["name"] for s in listing.json()["sessions"]]
    async with LivyClient(livy_url) as livy:
        in_livy = [s.name for s in await livy.iter_all_sessions() if not s.is_finished]
    return {
        "registry_live": len(registry),
        "livy_live": len(in_livy),
        "duplicated_in_livy": len(in_livy) - len(set(in_livy)),
        "in_livy_not_registry": sorted(set(in_livy) - set(registry)),
        "in_registry_not_livy": sorted(set(registry) - set(in_livy)),
    }


async def soak(jupyter: LiveJupyter, livy: LocalLivyProcess, options) -> dict[str, object]:
    t0 = time.monotonic()
    deadline = t0 + options.minutes * 60
    tally = Tally()
    samples: list[dict] = [snapshot(jupyter.process.pid, livy.process.pid, 0.0)]
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    async with httpx.AsyncClient(
        base_url=jupyter.url, headers=jupyter.headers, timeout=REQUEST_TIMEOUT
    ) as admin:
        clients = [
            httpx.AsyncClient(
                base_url=jupyter.url,
                headers=jupyter.headers,
                timeout=REQUEST_TIMEOUT,
                limits=limits,
            )
            for _ in range(options.kernels)
        ]
        try:
            tasks = [
                asyncio.create_task(kernel(i, clients[i], options, deadline, tally, t0))
                for i in range(options.kernels)
            ]
            await asyncio.sleep(min(WARM_UP, options.minutes * 60 / 4))
            start_sample = snapshot(jupyter.process.pid, livy.process.pid, time.monotonic() - t0)
            sampling = asyncio.create_task(
                sampler(
                    jupyter.process.pid,
                    livy.process.pid,
                    options.sample_every,
                    deadline,
                    samples,
                    t0,
                )
            )
            # Bounded: every kernel stops at the deadline; a request stuck past it is cut off.
            await asyncio.wait_for(
                asyncio.gather(*tasks), options.minutes * 60 + 2 * REQUEST_TIMEOUT
            )
            await sampling
        finally:
            for client in clients:
                await client.aclose()
        duration = time.monotonic() - t0
        end_sample = snapshot(jupyter.process.pid, livy.process.pid, duration)
        leaks = await leak_check(admin, livy.url)
    latencies = [seconds for _, seconds in tally.statements]
    last_window = [s for at, s in tally.statements if at > duration - 120]
    first_window = [s for at, s in tally.statements if WARM_UP <= at < WARM_UP + 120]
    return {
        "kernels": options.kernels,
        "minutes": round(duration / 60, 2),
        "think_s": options.think,
        "statements": len(latencies),
        "throughput_per_s": round(len(latencies) / duration, 1),
        "statement": percentiles(latencies),
        "statement_first_2_min_after_warm_up": percentiles(first_window),
        "statement_last_2_min": percentiles(last_window),
        "attach": percentiles(tally.attaches),
        "restarts": tally.restarts,
        "session_kills": tally.kills,
        "errors": dict(tally.errors),
        "start": start_sample,
        "end": end_sample,
        "cpu_cores": cpu_cores(start_sample, end_sample),
        "leaks": leaks,
        "samples": samples,
    }


def cpu_cores(start: dict, end: dict) -> dict[str, float]:
    """CPU seconds per second between two samples, per process."""
    seconds = end["t_s"] - start["t_s"]
    return {
        name: round((end[name]["cpu_s"] - start[name]["cpu_s"]) / seconds, 2)
        for name in ("jupyter", "livy", "generator")
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kernels", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--think", type=float, default=0.05, help="mean pause between statements")
    parser.add_argument("--statements-per-restart", type=int, default=25)
    parser.add_argument("--kill-every", type=int, default=10, help="0: never kill a session")
    parser.add_argument("--max-statements", type=int, default=100_000, help="per kernel")
    parser.add_argument("--sample-every", type=float, default=15.0)
    parser.add_argument("--out", type=Path, help="write the whole result, samples included")
    options = parser.parse_args()
    facts = machine()
    with tempfile.TemporaryDirectory() as tmp:
        log = (Path(tmp) / "livy.log").open("wb")
        with (
            LocalLivyProcess(["--spark", "off"], stderr=log) as livy,
            LiveJupyter(Path(tmp), livy.url) as jupyter,
        ):
            result = asyncio.run(soak(jupyter, livy, options))
    result["machine"] = facts
    result["machine_at_end"] = {"loadavg_1_5_15": machine()["loadavg_1_5_15"]}
    if options.out:
        options.out.write_text(json.dumps(result, indent=1))
    report(result)
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}))


def report(result: dict) -> None:
    print(
        f"{result['kernels']} kernels, {result['minutes']} min: {result['statements']} statements, "
        f"{result['throughput_per_s']}/s; {result['restarts']} restarts, "
        f"{result['session_kills']} sessions killed; errors {result['errors'] or 'none'}"
    )
    for name in (
        "statement",
        "statement_first_2_min_after_warm_up",
        "statement_last_2_min",
        "attach",
    ):
        row = result[name]
        print(f"  {name:<40} p50 {row['p50_ms']:>8} ms  p99 {row['p99_ms']:>8} ms  n {row['n']}")
    for process in ("jupyter", "livy"):
        start, end = result["start"][process], result["end"][process]
        print(
            f"  {process:<8} RSS {start['rss_mib']} -> {end['rss_mib']} MiB, "
            f"fds {start['fds']} -> {end['fds']}, threads {start['threads']} -> {end['threads']}"
        )
    print(f"  CPU cores used, warm-up to end: {result['cpu_cores']}")
    print(f"  leaks: {result['leaks']}")


if __name__ == "__main__":
    main()
