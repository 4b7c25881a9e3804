"""What the broker costs: statement round trip, attach to a live session, listing a large registry.

    .venv/bin/python benchmarks/broker_overhead.py [--runs 200] [--registry-size 10000]
        [--livy local|apache]

Starts a local Livy and a real Jupyter server with the broker (as subprocesses, on loopback), then:

1. a trivial statement (``1 + 1``), POST until finished: through the broker's long-poll, in one
   request (``POST ...statements?wait=30``) and in two (POST, then ``GET ...?wait=30``, what kernels
   do, so that an interrupt can cancel), vs directly with ``LivyClient.run_statement``;
   target: broker median <= 1.25 x direct + 3 ms;
2. ``POST attachments`` for a notebook whose session is live (a kernel restart's re-attach);
   target: median <= 20 ms;
3. ``GET sessions?limit=100`` with 10,000 sessions in the registry; target: median <= 50 ms.

Results go to stdout as a table and one JSON line; record them in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from jupyter_spark_broker.livy import LivyClient
from jupyter_spark_broker.registry.orm import SessionRow
from jupyter_spark_broker.registry.schema import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests/
from benchmarks.livy_server import livy_server  # noqa: E402
from tests.live_server import LiveJupyter  # noqa: E402


def fill_registry(db_path: Path, count: int) -> None:
    """``count`` finished sessions, as months of use leave behind."""
    engine = create_engine(f"sqlite:///{db_path}")
    upgrade(engine)  # the schema as the broker makes it: Alembic's revisions
    start = datetime(2026, 1, 1)
    with Session(engine) as db:
        db.add_all(
            SessionRow(
                id=f"{i:032x}",
                endpoint="live",
                livy_id=i,
                livy_name=f"jsb-old-{i}",
                kind="pyspark",
                state="killed",
                owner=getpass.getuser(),
                config={},
                created=start + timedelta(minutes=i),
                last_activity=start + timedelta(minutes=i),
            )
            for i in range(count)
        )
        db.commit()
    engine.dispose()


async def timed(action, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        samples.append(time.perf_counter() - started)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    return {"median_ms": statistics.median(samples) * 1000, "runs": len(samples)}


async def measure(base: str, token: str, livy_url: str, runs: int) -> dict[str, object]:
    headers = {"Authorization": f"token {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        attached = (
            await http.post("/spark-broker/api/attachments", json={"path": "bench.ipynb"})
        ).json()
        session_id, livy_id = attached["session_id"], attached["session"]["livy_id"]

        statements = f"/spark-broker/api/sessions/{session_id}/statements"

        async def through_broker() -> None:
            done = (await http.post(statements, params={"wait": 30}, json={"code": "1 + 1"})).json()
            assert done["output"]["data"] == {"text/plain": "2"}, done

        async def through_broker_two_requests() -> None:
            posted = (await http.post(statements, json={"code": "1 + 1"})).json()
            done = (await http.get(f"{statements}/{posted['id']}", params={"wait": 30})).json()
            assert done["output"]["data"] == {"text/plain": "2"}, done

        async with LivyClient(livy_url) as livy:

            async def direct() -> None:
                statement = await livy.run_statement(livy_id, "1 + 1")
                assert statement.output.data == {"text/plain": "2"}

            await (
                through_broker()
            )  # the broker waits for the session to start; the raw client would not
            for _ in range(20):  # warm up both paths
                await direct()
                await through_broker()
            direct_samples = await timed(direct, runs)
            broker_samples = await timed(through_broker, runs)
            two_request_samples = await timed(through_broker_two_requests, runs)

        async def reattach() -> None:
            reply = await http.post("/spark-broker/api/attachments", json={"path": "bench.ipynb"})
            assert reply.status_code == 200, reply.text

        async def list_page() -> None:
            reply = await http.get("/spark-broker/api/sessions", params={"limit": 100})
            assert reply.status_code == 200 and len(reply.json()["sessions"]) == 100

        attach_samples = await timed(reattach, runs)
        list_samples = await timed(list_page, max(20, runs // 2))
        total = (await http.get("/spark-broker/api/sessions", params={"limit": 1})).json()["total"]
    direct_ms = statistics.median(direct_samples) * 1000
    return {
        "statement_direct": summary(direct_samples),
        "statement_broker": summary(broker_samples),
        "statement_broker_two_requests": summary(two_request_samples),
        "statement_budget_ms": 1.25 * direct_ms + 3,
        "attach_existing": summary(attach_samples),
        "list_100": summary(list_samples),
        "registry_rows": total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--registry-size", type=int, default=10_000)
    parser.add_argument("--livy", choices=("local", "apache"), default="local")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, livy_server(options.livy, spark=False) as livy_url:
        workdir = Path(tmp)
        fill_registry(workdir / "registry.sqlite", options.registry_size)
        with LiveJupyter(workdir, livy_url) as jupyter:
            result = asyncio.run(measure(jupyter.url, jupyter.token, livy_url, options.runs))
    result["livy"] = options.livy
    result["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }
    rows = [
        ("statement, direct Livy client", result["statement_direct"]),
        ("statement, broker, POST?wait", result["statement_broker"]),
        ("statement, broker, POST + GET?wait", result["statement_broker_two_requests"]),
        ("attach to a live session", result["attach_existing"]),
        (f"list 100 of {result['registry_rows']} sessions", result["list_100"]),
    ]
    print(f"{'measure':<38}{'median ms':>11}{'runs':>6}")
    for name, row in rows:
        print(f"{name:<38}{row['median_ms']:>11.2f}{row['runs']:>6}")
    print(f"statement budget (1.25 x direct + 3 ms): {result['statement_budget_ms']:.2f} ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
