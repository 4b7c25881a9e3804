"""Load: how many concurrent kernels one broker serves before a trivial statement's p99 passes 100 ms.

    .venv/bin/python benchmarks/load.py [--steps 1,2,4,8,16,24,32,48,64] [--seconds 20] [--think 0]
        [--limit-ms 100] [--stop-ms 1000] [--compare-direct] [--out load.json]

Starts a local Livy (``--spark off``: plain Python sessions, so the broker is what is measured, not
Spark) and a real ``jupyter server`` with the broker, as subprocesses on loopback. Each simulated
kernel has its own notebook, session and HTTP connection, and runs ``1 + 1`` in a loop the way the
kernel-side thin client does (``POST .../statements``, then ``GET .../statements/{id}?wait=30``),
pausing ``--think`` seconds on average between statements (0: back to back, the worst case).

For each step the number of kernels grows to N (new kernels attach and warm up first), then all N
run for ``--seconds``; it records throughput, p50 and p99 of the statement round trip, and the CPU
used by the Jupyter server, the local Livy, its session workers and this load generator. With
``--compare-direct`` the same kernels then run for as long straight to Livy (``LivyClient``), so a
busy host's share of the latency can be told from the broker's. It stops once two steps in a row
pass ``--limit-ms`` and the last also ``--stop-ms``, or after the last step. Every loop is bounded:
a step by its time, a request by 60 s, the whole run by the steps.

Prints a table and one JSON line; record results in benchmarks/README.md. Not a CI test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
from pathlib import Path

import httpx
from proc_stats import (
    children_cpu_seconds,
    machine,
    percentiles,
    process_stats,
    repository_on_path,
)

from jupyter_spark_broker.livy import LivyClient, LivyError
from jupyter_spark_broker.livy_local import LocalLivyProcess

repository_on_path()
from tests.live_server import LiveJupyter  # noqa: E402

API = "/spark-broker/api/"
REQUEST_TIMEOUT = 60.0


class Kernel:
    """One simulated kernel: its notebook, its session, its own connection to the server; and, for
    the comparison, its own Livy client to the same session."""

    def __init__(self, number: int, jupyter: LiveJupyter, livy_url: str):
        self.number = number
        self.http = httpx.AsyncClient(
            base_url=jupyter.url,
            headers=jupyter.headers,
            timeout=REQUEST_TIMEOUT,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        self.livy = LivyClient(livy_url)
        self.livy_id = -1
        self.statements = ""
        self.rng = random.Random(number)

    async def close(self) -> None:
        await self.http.aclose()
        await self.livy.aclose()

    async def attach(self) -> None:
        reply = await self.http.post(
            API + "attachments", json={"path": f"load/{self.number}.ipynb"}
        )
        reply.raise_for_status()
        self.statements = f"{API}sessions/{reply.json()['session_id']}/statements"
        self.livy_id = reply.json()["session"]["livy_id"]
        # The first statement waits for the session's start (the broker waits for it).
        first = await self.http.post(self.statements, json={"code": "1"}, params={"wait": 60})
        first.raise_for_status()

    async def through_broker(self) -> float:
        started = time.perf_counter()
        posted = await self.http.post(self.statements, json={"code": "1 + 1"})
        posted.raise_for_status()
        statement = posted.json()
        if statement["state"] != "available":
            reply = await self.http.get(f"{self.statements}/{statement['id']}", params={"wait": 30})
            reply.raise_for_status()
            statement = reply.json()
        elapsed = time.perf_counter() - started
        if statement["output"]["data"] != {"text/plain": "2"}:
            raise AssertionError(f"kernel {self.number}: unexpected {statement}")
        return elapsed

    async def direct(self) -> float:
        started = time.perf_counter()
        statement = await self.livy.run_statement(self.livy_id, "1 + 1", timeout=30)
        elapsed = time.perf_counter() - started
        if statement.output is None or statement.output.data != {"text/plain": "2"}:
            raise AssertionError(f"kernel {self.number}: unexpected {statement}")
        return elapsed

    async def run_until(
        self, deadline: float, think: float, via: str, samples: list[float], errors
    ) -> None:
        action = self.through_broker if via == "broker" else self.direct
        while time.monotonic() < deadline:
            try:
                samples.append(await action())
            except (httpx.HTTPError, LivyError, AssertionError) as error:
                errors.append(f"{type(error).__name__}: {error}"[:200])
                await asyncio.sleep(0.5)
            if think:
                await asyncio.sleep(self.rng.uniform(0, 2 * think))


def cpu_seconds(pid: int) -> float:
    return process_stats(pid)["cpu_s"]


async def measure(kernels: list[Kernel], via: str, jupyter, livy, options) -> dict:
    """All kernels run statements for ``options.seconds``, through the broker or straight to Livy."""
    samples: list[float] = []
    errors: list[str] = []
    pids = {"jupyter": jupyter.process.pid, "livy": livy.process.pid, "generator": os.getpid()}
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    workers_before = children_cpu_seconds(livy.process.pid)
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    deadline = started + options.seconds
    await asyncio.gather(
        *(kernel.run_until(deadline, options.think, via, samples, errors) for kernel in kernels)
    )
    took = time.monotonic() - started
    cpu = {
        name: round((cpu_seconds(pid) - cpu_before[name]) / took, 2) for name, pid in pids.items()
    }
    cpu["livy_workers"] = round((children_cpu_seconds(livy.process.pid) - workers_before) / took, 2)
    return {
        "kernels": len(kernels),
        "via": via,
        "throughput_per_s": round(len(samples) / took, 1),
        **percentiles(samples),
        "errors": len(errors),
        "first_errors": errors[:3],
        "cpu_cores": cpu,  # CPU seconds per second during the step
        "loadavg_1": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "jupyter_rss_mib": process_stats(jupyter.process.pid)["rss_mib"],
    }


async def load(jupyter: LiveJupyter, livy: LocalLivyProcess, options) -> list[dict]:
    kernels: list[Kernel] = []
    rows: list[dict] = []
    over = 0
    try:
        for count in options.steps:
            while len(kernels) < count:  # new kernels attach a few at a time, as notebooks open
                batch = [
                    Kernel(len(kernels) + i, jupyter, livy.url)
                    for i in range(min(8, count - len(kernels)))
                ]
                await asyncio.gather(*(kernel.attach() for kernel in batch))
                kernels.extend(batch)
            row = await measure(kernels, "broker", jupyter, livy, options)
            rows.append(row)
            print(format_row(row), flush=True)
            if options.compare_direct:
                direct = await measure(kernels, "direct", jupyter, livy, options)
                rows.append(direct)
                print(format_row(direct), flush=True)
            over = over + 1 if row["p99_ms"] > options.limit_ms else 0
            if over >= 2 and row["p99_ms"] > options.stop_ms:
                break
    finally:
        for kernel in kernels:
            await kernel.close()
    return rows


def format_row(row: dict) -> str:
    cpu = row["cpu_cores"]
    return (
        f"{row['kernels']:>7} {row['via']:>7} {row['throughput_per_s']:>9} "
        f"{row['p50_ms']:>8} {row['p99_ms']:>8} "
        f"{row['errors']:>6}   jupyter {cpu['jupyter']:.2f} livy {cpu['livy']:.2f} "
        f"workers {cpu['livy_workers']:.2f} generator {cpu['generator']:.2f}   "
        f"load {row['loadavg_1'][0]}->{row['loadavg_1'][1]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--steps",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 2, 4, 8, 16, 24, 32, 48, 64],
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="per step")
    parser.add_argument("--think", type=float, default=0.0, help="mean pause between statements")
    parser.add_argument("--limit-ms", type=float, default=100.0)
    parser.add_argument(
        "--stop-ms",
        type=float,
        default=1000.0,
        help="stop after the second step over --limit-ms once p99 also passes this",
    )
    parser.add_argument(
        "--compare-direct",
        action="store_true",
        help="after each step, the same kernels straight to Livy (LivyClient), for what the "
        "broker adds on a busy machine",
    )
    parser.add_argument("--out", type=Path)
    options = parser.parse_args()
    facts = machine()
    print(f"machine: {json.dumps(facts)}")
    print(
        f"{'kernels':>7} {'via':>7} {'stmt/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}   "
        "CPU cores used per process"
    )
    with tempfile.TemporaryDirectory() as tmp:
        log = (Path(tmp) / "livy.log").open("wb")
        with (
            LocalLivyProcess(["--spark", "off"], stderr=log) as livy,
            LiveJupyter(Path(tmp), livy.url) as jupyter,
        ):
            # For a profiler (py-spy record -p PID) to attach to the right processes.
            print(f"jupyter pid {jupyter.process.pid}, livy pid {livy.process.pid}", flush=True)
            rows = asyncio.run(load(jupyter, livy, options))
    served = [
        row["kernels"]
        for row in rows
        if row["via"] == "broker" and row["p99_ms"] <= options.limit_ms
    ]
    result = {
        "think_s": options.think,
        "compare_direct": options.compare_direct,
        "seconds_per_step": options.seconds,
        "limit_ms": options.limit_ms,
        "most_kernels_within_limit": max(served, default=0),
        "steps": rows,
        "machine": facts,
        "machine_at_end": {"loadavg_1_5_15": machine()["loadavg_1_5_15"]},
    }
    if options.out:
        options.out.write_text(json.dumps(result, indent=1))
    print(
        f"most kernels with p99 <= {options.limit_ms:g} ms: {result['most_kernels_within_limit']}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
