"""Three new notebooks on the embedded default, opened 10 s apart: each one's first Spark result, and
the memory of an idle session (issue 22).

    unshare --net bash -c 'ip link set lo up; .venv/bin/python benchmarks/new_notebooks.py \
        [--settings defaults|no-pool|before]'

Starts a real ``jupyter server`` with the broker and nothing configured but a scratch root, registry
and token: the embedded local Livy with real local SparkSessions is its default endpoint, as after
``scripts/run.sh``. ``--settings defaults`` (the default) keeps the shipped settings; ``no-pool``
turns the warm pool off (``warm_pool = {}``), to see what the sessions' own settings give;
``before`` gives the settings of before issue 22's item 4 (no warm pool, the JVM's own options).

Like a user who starts JupyterLab and opens a notebook once it shows, the script waits until the
server is up and, with a warm pool, until its session is warm (``GET profiles``; that wait is reported
as ``pool_warm_s``). Then it opens three notebooks never seen before, 10 s apart, each as Lab does
(``POST /api/sessions`` with the "PySpark (broker)" kernel, then its websocket) and runs one cell,
``spark.range(1000).count()``. A notebook's time runs from its open request to the cell's
execute_reply: kernel start, attach, session start or claim, and the job.

Once the three are idle, it reads the memory of each session's processes (the local Livy's worker
for that session and its JVM), 20 s after the last result: RSS, and PSS, which divides the pages
that sessions share (libraries) among them. The pool's session, when there is one, is listed too.

Results go to stdout as a table and one JSON line; record them in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests/
from benchmarks.kernel_latency import KernelSocket  # noqa: E402
from benchmarks.proc_stats import machine  # noqa: E402
from tests.live_server import LiveJupyter  # noqa: E402

CELL = "spark.range(1000).count()"
API = "/spark-broker/api"
APART_S = 10.0
QUIET_S = 20.0
# What the embedded Livy's sessions got before issue 22's item 4 (broker/endpoints.py at 0bac9a2).
BEFORE = {
    "warm_pool": {},
    "local_session_defaults": {
        "driverMemory": "512m",
        "idleTimeout": "15m",
        "conf": {
            "spark.ui.port": "0",
            "spark.sql.shuffle.partitions": "8",
            "spark.ui.retainedJobs": "200",
            "spark.ui.retainedStages": "200",
            "spark.sql.ui.retainedExecutions": "100",
        },
    },
}


async def until_pool_warm(http: httpx.AsyncClient, timeout: float = 600.0) -> float:
    """Seconds until the default profile's pool holds a warm session."""
    started = time.perf_counter()
    while True:
        profiles = (await http.get(f"{API}/profiles")).json()["profiles"]
        if next(p for p in profiles if p["name"] == "default")["warm"] >= 1:
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise RuntimeError("the warm pool did not fill in time")
        await asyncio.sleep(0.2)


async def open_and_run(
    http: httpx.AsyncClient, server: LiveJupyter, path: str, delay: float
) -> dict[str, object]:
    await asyncio.sleep(delay)
    started = time.perf_counter()
    opened = await http.post(
        "/api/sessions",
        json={"path": path, "type": "notebook", "kernel": {"name": "pyspark_broker"}},
    )
    opened.raise_for_status()
    kernel = KernelSocket(server, opened.json()["kernel"]["id"])
    await kernel.connect()
    try:
        reply = await kernel.execute(CELL)
    finally:
        kernel.close()
    elapsed = time.perf_counter() - started
    if reply["status"] != "ok":
        raise RuntimeError(f"{path}: the cell failed: {reply}")
    listed = (await http.get(f"{API}/sessions", params={"path": path})).json()["sessions"]
    return {"path": path, "first_result_s": round(elapsed, 2), "session": listed[0]["id"]}


def session_processes() -> dict[str, list[int]]:
    """A local Livy worker's pid -> its pid and its descendants' (the session's JVM)."""
    children: dict[int, list[int]] = {}
    workers: dict[str, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        children.setdefault(int(stat[1]), []).append(int(proc.name))
        if any(part.startswith(b"jupyter_spark_broker.livy_local.worker") for part in cmdline):
            workers[proc.name] = int(proc.name)
    trees = {}
    for pid in workers.values():
        tree, todo = [], [pid]
        while todo:
            current = todo.pop()
            tree.append(current)
            todo.extend(children.get(current, []))
        trees[str(pid)] = tree
    return trees


def memory_mib(pids: list[int]) -> dict[str, float]:
    """RSS of the processes, and their PSS (shared pages, such as the libraries every session's
    Python and JVM map, divided among the processes that map them)."""
    totals = {"rss_mib": 0, "pss_mib": 0}
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in rollup.splitlines():
            if line.startswith("Rss:"):
                totals["rss_mib"] += int(line.split()[1])
            elif line.startswith("Pss:"):
                totals["pss_mib"] += int(line.split()[1])
    return {name: round(kib / 1024, 1) for name, kib in totals.items()}


def has_jvm(pids: list[int]) -> bool:
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/exe").resolve().name == "java":
                return True
        except OSError:
            continue
    return False


async def measure(server: LiveJupyter, pooled: bool) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers, timeout=600) as http:
        pool_warm_s = await until_pool_warm(http) if pooled else 0.0
        notebooks = await asyncio.gather(
            *(
                open_and_run(http, server, f"bench/new-{index + 1}.ipynb", index * APART_S)
                for index in range(3)
            )
        )
        await asyncio.sleep(QUIET_S)  # a measurement's settling time, not a wait for a state
        # Sessions with a JVM: the three notebooks' and the pool's; a worker that has not yet
        # launched its JVM (the pool's next session, just started) is not an idle session.
        trees = {worker: pids for worker, pids in session_processes().items() if has_jvm(pids)}
        idle = {worker: memory_mib(pids) for worker, pids in trees.items()}
        for session in (await http.get(f"{API}/sessions")).json()["sessions"]:
            (await http.delete(f"{API}/sessions/{session['id']}")).raise_for_status()
    return {"pool_warm_s": round(pool_warm_s, 2), "notebooks": notebooks, "idle_memory": idle}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settings", choices=("defaults", "no-pool", "before"), default="defaults")
    args = parser.parse_args()
    before = machine()
    with tempfile.TemporaryDirectory(prefix="jsb-new-notebooks-") as scratch:
        embedded = {
            "endpoints": {},
            "default_endpoint": "local",
            "local_livy_args": [],
            "warm_pool": None,
        }
        settings = {
            **embedded,
            **{"defaults": {}, "no-pool": {"warm_pool": {}}, "before": BEFORE}[args.settings],
        }
        started = time.perf_counter()
        with LiveJupyter(Path(scratch), "", **settings) as server:
            up_s = time.perf_counter() - started
            result = asyncio.run(measure(server, pooled=args.settings == "defaults"))
    result.update(settings=args.settings, server_up_s=round(up_s, 2))
    print(f"\nsettings: {result['settings']}; pool warm after {result['pool_warm_s']} s")
    print("\n| notebook | first result s |\n|---|---|")
    for notebook in result["notebooks"]:
        print(f"| {notebook['path']} | {notebook['first_result_s']} |")
    print("\n| session (worker pid) | idle RSS MiB | idle PSS MiB |\n|---|---|---|")
    for worker, memory in result["idle_memory"].items():
        print(f"| {worker} | {memory['rss_mib']} | {memory['pss_mib']} |")
    print(
        json.dumps({"benchmark": "new_notebooks", "machine": before, "after": machine(), **result})
    )
    sys.stdout.flush()
    os._exit(0)  # the server's kernels were shut down with it


if __name__ == "__main__":
    main()
