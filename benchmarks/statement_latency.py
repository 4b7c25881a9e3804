"""Round trip of a trivial statement on a warm local Livy session: our client vs sparkmagic's polling.

    .venv/bin/python benchmarks/statement_latency.py [--runs 200] [--sparkmagic-runs 30] [--spark]
        [--livy local|apache]

Both loops talk to the same Livy (the shipped local one, or Apache Livy with ``--livy apache``; see
benchmarks/livy_server.py), on the same session, over loopback. "ours" is
``LivyClient.run_statement`` (POST, then adaptive polling from 2 ms). "sparkmagic-style" is POST, an
immediate GET, then GETs after sleeping 0.2, 0.5, 0.5, 1, 1, 2, 2 ... s, as sparkmagic 0.23 polls
(its wait-for-idle GET before each POST is left out, which flatters it). Results go to stdout as a table
and as one JSON line; record them in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from jupyter_spark_broker.livy import CreateSessionRequest, LivyClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests/
from benchmarks.livy_server import livy_server  # noqa: E402

SPARKMAGIC_SLEEPS = [0.2, 0.5, 0.5, 1.0, 1.0]
SPARKMAGIC_LAST_SLEEP = 2.0
CODE = "1 + 1"


async def ours(livy: LivyClient, session_id: int) -> float:
    started = time.perf_counter()
    statement = await livy.run_statement(session_id, CODE)
    assert statement.output is not None and statement.output.data == {"text/plain": "2"}
    return time.perf_counter() - started


async def sparkmagic_style(livy: LivyClient, session_id: int) -> float:
    started = time.perf_counter()
    statement = await livy.create_statement(session_id, CODE)
    polls = 0
    while True:
        statement = await livy.get_statement(session_id, statement.id)
        if statement.is_finished:
            return time.perf_counter() - started
        sleep = (
            SPARKMAGIC_SLEEPS[polls] if polls < len(SPARKMAGIC_SLEEPS) else SPARKMAGIC_LAST_SLEEP
        )
        polls += 1
        await asyncio.sleep(sleep)


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": p95 * 1000,
        "runs": len(ordered),
    }


async def measure(url: str, runs: int, sparkmagic_runs: int) -> dict[str, object]:
    async with LivyClient(url) as livy:
        session = await livy.create_session(CreateSessionRequest(kind="pyspark"))
        started = time.perf_counter()
        await livy.wait_for_session(session.id, timeout=600)
        session_start_s = time.perf_counter() - started
        for _ in range(20):  # warm up the worker and the connection pool
            await ours(livy, session.id)
        our_samples = [await ours(livy, session.id) for _ in range(runs)]
        sparkmagic_samples = [
            await sparkmagic_style(livy, session.id) for _ in range(sparkmagic_runs)
        ]
        await livy.delete_session(session.id)
    result: dict[str, object] = {
        "session_start_s": session_start_s,
        "ours": summary(our_samples),
        "sparkmagic_style": summary(sparkmagic_samples),
    }
    result["median_ratio"] = (
        result["sparkmagic_style"]["median_ms"] / result["ours"]["median_ms"]  # type: ignore[index]
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--sparkmagic-runs", type=int, default=30)
    parser.add_argument(
        "--spark", action="store_true", help="a pyspark SparkSession behind the session"
    )
    parser.add_argument("--livy", choices=("local", "apache"), default="local")
    options = parser.parse_args()
    with livy_server(options.livy, spark=options.spark) as url:
        result = asyncio.run(measure(url, options.runs, options.sparkmagic_runs))
    result["livy"] = options.livy
    result["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "spark": options.spark,
    }
    print(f"{'loop':<18}{'median ms':>11}{'p95 ms':>10}{'runs':>6}")
    for name in ("ours", "sparkmagic_style"):
        row = result[name]
        print(f"{name:<18}{row['median_ms']:>11.2f}{row['p95_ms']:>10.2f}{row['runs']:>6}")
    print(f"median ratio (sparkmagic-style / ours): {result['median_ratio']:.1f}x")
    print(f"new session, POST to idle: {result['session_start_s']:.1f} s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
