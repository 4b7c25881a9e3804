"""A new notebook's first Spark result, from a warm pool and cold, in the same run (issue 12).

    unshare --net bash -c 'ip link set lo up; .venv/bin/python benchmarks/warm_pool.py [--runs 3]'

Starts a local Livy with real local SparkSessions (``--spark on``) and a real ``jupyter server`` with the
broker (subprocesses on loopback). Two profiles with the same settings: ``default`` with a warm pool of
one session, ``cold`` without. Each run, for each profile in turn, a notebook never seen before is
attached (``POST attachments``) and its first statement (``spark.range(1000).count()``) is posted with
``?wait``: the time is from the attach request until the statement's result is in hand, what a user
waits for on a new notebook's first Spark cell. Before each warm run the pool is refilled (``warm`` = 1
in ``GET profiles``); each notebook's session is killed after its run.

Results go to stdout as a table and one JSON line; record them in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from jupyter_spark_broker.livy_local import LocalLivyProcess

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests/
from tests.live_server import LiveJupyter  # noqa: E402

CODE = "spark.range(1000).count()"
API = "/spark-broker/api"


async def until_warm(http: httpx.AsyncClient, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        profiles = (await http.get(f"{API}/profiles")).json()["profiles"]
        if next(p["warm"] for p in profiles if p["name"] == "default") >= 1:
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the warm pool did not refill in time")
        await asyncio.sleep(0.2)


async def first_result(http: httpx.AsyncClient, profile: str, path: str) -> tuple[float, bool]:
    """Seconds from the attach request to the first statement's result, and whether it was claimed
    from the pool (the session was started before the attach)."""
    started = time.perf_counter()
    attached = await http.post(f"{API}/attachments", json={"path": path, "profile": profile})
    attached.raise_for_status()
    session = attached.json()["session"]
    posted = await http.post(
        f"{API}/sessions/{session['id']}/statements", params={"wait": 300}, json={"code": CODE}
    )
    posted.raise_for_status()
    statement = posted.json()
    while statement["state"] not in ("available", "error", "cancelled"):
        statement = (
            await http.get(
                f"{API}/sessions/{session['id']}/statements/{statement['id']}",
                params={"wait": 300},
            )
        ).json()
    elapsed = time.perf_counter() - started
    output = statement["output"] or {}
    if output.get("status") != "ok" or "1000" not in output["data"].get("text/plain", ""):
        raise RuntimeError(f"unexpected result: {statement}")
    # A pooled session was tagged when the pool started it.
    claimed = session["settings"]["conf"]["spark.jupyter.notebook"] == "warm pool"
    await http.delete(f"{API}/sessions/{session['id']}")
    return elapsed, claimed


async def measure(server: LiveJupyter, runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"warm": [], "cold": []}
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers, timeout=600) as http:
        for run in range(runs):
            await until_warm(http)
            warm, claimed = await first_result(http, "default", f"bench/warm-{run}.ipynb")
            cold, not_claimed = await first_result(http, "cold", f"bench/cold-{run}.ipynb")
            assert claimed and not not_claimed, "the warm run must claim, the cold one not"
            times["warm"].append(warm)
            times["cold"].append(cold)
            print(f"run {run + 1}: warm {warm:.2f} s, cold {cold:.2f} s", flush=True)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jsb-warm-pool-") as scratch:
        livy = LocalLivyProcess(["--spark", "on"])
        livy.start()
        try:
            with LiveJupyter(
                Path(scratch),
                livy.url,
                profiles={"cold": {"description": "the default's settings, no pool"}},
                warm_pool={"default": 1},
                poll_interval=0.5,
                busy_poll_interval=0.1,
                reap_interval=0.5,
            ) as server:
                times = asyncio.run(measure(server, args.runs))
        finally:
            livy.stop()
    warm, cold = statistics.median(times["warm"]), statistics.median(times["cold"])
    print("\n| profile | median s | min s | max s | runs |\n|---|---|---|---|---|")
    for name, values in times.items():
        print(
            f"| {name} | {statistics.median(values):.2f} | {min(values):.2f} | "
            f"{max(values):.2f} | {len(values)} |"
        )
    print(f"\ncold / warm: {cold / warm:.1f}x")
    print(
        json.dumps(
            {
                "benchmark": "warm_pool",
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "warm_s": times["warm"],
                "cold_s": times["cold"],
                "ratio": round(cold / warm, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
