"""Headless runs: papermill, ``jupyter nbconvert --execute``, jupyter-scheduler and a bare kernel run a
notebook on "PySpark (broker)" outside any Jupyter session. Each gets a session of its own for the run,
labelled with its notebook, and leaves none behind: not when it finishes, fails, or is killed.

The schedulers are the real ones, in processes of their own, talking HTTP to the real test server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_client.manager import AsyncKernelManager

from jupyter_spark_broker import metrics
from jupyter_spark_broker.events import SESSION_ACTION
from jupyter_spark_broker.kernel.headless import this_run
from tests.broker.test_connect_sessions import CONNECT_CONFIG
from tests.broker.test_events import Events
from tests.helpers import eventually

RUN_TIMEOUT = 2.0  # short, so a killed kernel's session ends within the test


@pytest.fixture
def broker_config(broker_config, request, tmp_path):
    small = {"settings": {"conf": {"spark.sql.shuffle.partitions": "3"}}}
    config = {**broker_config, "run_timeout": RUN_TIMEOUT, "profiles": {"small": small}}
    if request.node.get_closest_marker("spark"):  # real Spark: a Livy's, and Connect servers
        spark = {"url": request.getfixturevalue("spark_livy_url")}
        config["endpoints"] = {**config["endpoints"], "spark": spark}
        config |= {**CONNECT_CONFIG, "log_dir": str(tmp_path / "connect-logs")}
    return config


@pytest.fixture
def events(jp_serverapp, broker_app) -> Events:
    return Events(jp_serverapp.event_logger)


@pytest.fixture
def headless_env(kernel_env, installed_kernels) -> dict[str, str]:
    """A terminal of the Jupyter server, as a scheduler or a CI job has it: the broker's URL and token,
    no Jupyter session (so no JPY_SESSION_NAME), the broker's kernels installed."""
    env = {key: value for key, value in kernel_env.items() if key != "JPY_SESSION_NAME"}
    return {**env, "JUPYTER_DATA_DIR": str(installed_kernels.parent)}


@pytest.fixture
def installed_kernels(jp_environ, jp_data_dir) -> Path:
    subprocess.run(
        [sys.executable, "-m", "jupyter_spark_broker.cli", "install-kernels", "--user"],
        capture_output=True,
        check=True,
    )
    return jp_data_dir / "kernels"


def notebook(path: Path, *cells: str, kernel: str = "pyspark_broker", **metadata) -> Path:
    """A notebook on the broker's kernel; the first cell is papermill's parameters cell."""
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": kernel, "display_name": kernel, "language": "python"},
            **metadata,
        },
        "cells": [
            {
                "cell_type": "code",
                "id": f"cell-{index}",
                "metadata": {"tags": ["parameters"]} if index == 0 else {},
                "source": source,
                "outputs": [],
                "execution_count": None,
            }
            for index, source in enumerate(cells)
        ],
    }
    path.write_text(json.dumps(content))
    return path


def outputs_of(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "".join(
        "".join(output.get("text", "")) + json.dumps(output.get("data", {}))
        for cell in cells
        for output in cell.get("outputs", [])
    )


async def run(*command: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """A scheduler's command in a process of its own; the test server keeps serving meanwhile."""
    process = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=600)
    return subprocess.CompletedProcess(command, process.returncode or 0, output.decode())


async def all_sessions(api) -> list[dict]:
    return (await api.get("sessions", params={"limit": 1000})).json["sessions"]


async def live_sessions(api) -> list[dict]:
    return (await api.get("sessions", params={"live": "true"})).json["sessions"]


async def the_run_session(api) -> dict:
    runs = [s for s in await all_sessions(api) if s["run"] is not None]
    assert len(runs) == 1, runs
    return runs[0]


async def ended_by_its_run(api) -> dict:
    """The run's session once it has ended; and then no session is live (none leaked)."""

    async def ended():
        session = await the_run_session(api)
        return session if session["state"] == "killed" else None

    session = await eventually(ended, what="the run's session to end", timeout=60)
    assert "ended" in session["message"] and session["run"] in session["message"]
    assert await live_sessions(api) == []
    return session


def attached_paths(events: Events, session: dict) -> set[str]:
    """The notebooks the audit trail saw attached to ``session``."""
    return {
        e["path"] for e in events.of(SESSION_ACTION, action="attached", session_id=session["id"])
    }


async def test_a_papermill_run_with_parameters_gets_a_session_and_ends_it(
    api, events, headless_env, jp_root_dir
):
    source = notebook(jp_root_dir / "reports" / "daily.ipynb", "n = 1", "print('doubled', n * 2)")
    output = source.with_name("daily-out.ipynb")
    started = metrics.RUNS.labels("started")._value.get()

    done = await run(
        sys.executable, "-m", "papermill", str(source), str(output), "-p", "n", "21",
        env=headless_env, cwd=jp_root_dir,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout
    assert "doubled 42" in outputs_of(output)  # the parameter reached the Spark session
    session = await ended_by_its_run(api)
    assert session["endpoint"] == "test" and session["profile"] == "default"
    # Labelled with the notebook it ran, named as the server names notebooks under its root.
    assert attached_paths(events, session) == {"reports/daily.ipynb"}
    assert metrics.RUNS.labels("started")._value.get() == started + 1


async def test_nbconvert_execute_gets_a_session_and_ends_it(api, events, headless_env, tmp_path):
    # A notebook outside the server's root: its label is its absolute path.
    source = notebook(tmp_path / "etl" / "load.ipynb", "", "print(sum(range(10)))")

    done = await run(
        sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
        str(source), "--output", "load-run.ipynb",
        env=headless_env, cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout
    assert "45" in outputs_of(source.with_name("load-run.ipynb"))
    session = await ended_by_its_run(api)
    assert attached_paths(events, session) == {str(source)}


async def test_a_failing_run_ends_its_session_too(api, headless_env, tmp_path):
    source = notebook(tmp_path / "broken.ipynb", "", "print('before')", "1 / 0", "print('never')")

    done = await run(
        sys.executable, "-m", "papermill", str(source), str(tmp_path / "broken-out.ipynb"),
        env=headless_env, cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode != 0 and "ZeroDivisionError" in done.stdout
    assert "before" in outputs_of(tmp_path / "broken-out.ipynb")
    await ended_by_its_run(api)


async def test_the_profile_comes_from_the_notebook_and_the_run_name_from_the_caller(
    api, headless_env, tmp_path
):
    source = notebook(
        tmp_path / "sized.ipynb", "", "print('ran')", spark_broker={"profile": "small"}
    )
    env = {**headless_env, "SPARK_BROKER_RUN": "nightly-2026-12-07"}

    done = await run(
        sys.executable, "-m", "papermill", str(source), str(tmp_path / "sized-out.ipynb"),
        env=env, cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout
    session = await ended_by_its_run(api)
    assert session["run"] == "nightly-2026-12-07" and session["profile"] == "small"


@pytest.fixture
def headless_kernel(headless_env, tmp_path, jp_asyncio_loop):
    """A "PySpark (broker)" kernel started as nbclient starts one: by jupyter_client, outside the
    server (which never hears of it), in the notebook's directory."""
    notebook(tmp_path / "job.ipynb", "")
    manager = AsyncKernelManager(kernel_name="pyspark_broker")

    async def start():
        await manager.start_kernel(env=headless_env, cwd=str(tmp_path))
        client = manager.client()
        client.start_channels()
        await client.wait_for_ready(timeout=60)
        return client

    client = jp_asyncio_loop.run_until_complete(start())
    yield manager, client
    client.stop_channels()
    if jp_asyncio_loop.run_until_complete(manager.is_alive()):
        jp_asyncio_loop.run_until_complete(manager.shutdown_kernel(now=True))


async def execute(client, code: str) -> str:
    shown: list[str] = []

    def collect(message: dict) -> None:
        content = message["content"]
        shown.append(content.get("text") or content.get("data", {}).get("text/plain", ""))

    reply = await client.execute_interactive(code, output_hook=collect, timeout=300)
    assert reply["content"]["status"] == "ok", shown
    return "".join(shown)


async def test_a_killed_run_kernel_stops_beating_and_its_session_ends(
    api, headless_kernel, broker_app
):
    manager, client = headless_kernel
    assert "6" in await execute(client, "print(2 * 3)")
    session = await the_run_session(api)
    assert session["run"] is not None and session["state"] != "killed"

    # Alive, it beats: its attachment's last_seen moves on with no cell running, for longer than
    # run_timeout, and the session stays.
    async def attachment():
        return (await api.get(f"sessions/{session['id']}")).json["attachments"][0]

    seen: set[str] = set()

    async def beats_for_two_run_timeouts():
        seen.add((await attachment())["last_seen"])
        return len(seen) > 2 * 4  # two run_timeouts' worth of beats (four to each)

    await eventually(beats_for_two_run_timeouts, what="beats", timeout=120, interval=0.2)
    assert (await api.get(f"sessions/{session['id']}")).json["state"] == "idle"

    # Killed outright (no shutdown, no exit handlers): the beats stop, the broker ends the session.
    os.kill(manager.provisioner.process.pid, signal.SIGKILL)
    lost = metrics.RUNS.labels("lost")._value.get()
    await ended_by_its_run(api)
    assert metrics.RUNS.labels("lost")._value.get() == lost + 1


async def test_a_run_that_joined_a_named_session_only_detaches(api, headless_kernel):
    manager, client = headless_kernel
    created = await api.post("sessions", {"name": "shared-etl"})
    assert created.status == 201, created.json
    shared = created.json

    await execute(client, "%spark attach shared-etl")
    assert "7" in await execute(client, "print(3 + 4)")
    assert [a["run"] for a in (await api.get(f"sessions/{shared['id']}")).json["attachments"]]

    await manager.shutdown_kernel()  # the run ends: its kernel detaches as it exits

    async def detached():
        return (await api.get(f"sessions/{shared['id']}")).json["attachments"] == []

    await eventually(detached, what="the run to detach", timeout=60)
    assert (await api.get(f"sessions/{shared['id']}")).json["state"] == "idle"
    assert [s for s in await all_sessions(api) if s["run"]] == []  # it made none of its own
    await api.delete(f"sessions/{shared['id']}")


@pytest.fixture
def jp_server_config(jp_server_config, tmp_path):
    """jupyter-scheduler in the test server too, with its database and staging area in the test's
    directory (its executor runs each job in a process of its own, on the notebook's kernel)."""
    extensions = jp_server_config["ServerApp"]["jpserver_extensions"]
    return {
        **jp_server_config,
        "ServerApp": {"jpserver_extensions": {**extensions, "jupyter_scheduler": True}},
        "SchedulerApp": {"db_url": f"sqlite:///{tmp_path}/scheduler.sqlite"},
        "Scheduler": {"staging_path": str(tmp_path / "staging")},
    }


async def test_a_jupyter_scheduler_job_gets_a_session_and_ends_it(
    api, events, headless_env, jp_root_dir, tmp_path, monkeypatch
):
    # The job's process inherits the server's environment, where the broker's URL and token are.
    for name in ("SPARK_BROKER_URL", "SPARK_BROKER_TOKEN", "JUPYTER_DATA_DIR"):
        monkeypatch.setenv(name, headless_env[name])
    notebook(jp_root_dir / "jobs" / "weekly.ipynb", "", "print('weekly', 6 * 7)")

    created = await api.request(
        "POST",
        "scheduler/jobs",
        body={
            "input_uri": "jobs/weekly.ipynb",
            "runtime_environment_name": "pyspark_broker",
            "name": "weekly",
            "output_formats": ["ipynb"],
        },
        api=False,
        validate=False,
    )
    assert created.status == 200, created.body
    job_id = created.json["job_id"]

    async def finished():
        job = await api.request("GET", f"scheduler/jobs/{job_id}", api=False, validate=False)
        # Not STOPPED: a job's row says so until its process has started.
        return job.json if job.json["status"] in ("COMPLETED", "FAILED") else None

    job = await eventually(finished, what="the scheduled job to finish", timeout=300, interval=0.5)
    assert job["status"] == "COMPLETED", job.get("status_message")
    outputs = [
        p for p in (tmp_path / "staging" / job_id).glob("*.ipynb") if p.name != "weekly.ipynb"
    ]
    assert len(outputs) == 1 and "weekly 42" in outputs_of(outputs[0])
    session = await ended_by_its_run(api)
    # The job runs a copy of the notebook in its staging directory: the copy is its label.
    assert attached_paths(events, session) == {str(tmp_path / "staging" / job_id / "weekly.ipynb")}


@pytest.mark.spark
@pytest.mark.timeout(900)
async def test_a_papermill_run_on_real_spark_leaves_no_spark_session(
    api, headless_env, tmp_path, spark_livy_url, broker_config
):
    source = notebook(
        tmp_path / "spark.ipynb", "rows = 10", "print('counted', spark.range(rows).count())"
    )
    env = {**headless_env, "SPARK_BROKER_ENDPOINT": "spark"}

    done = await run(
        sys.executable, "-m", "papermill", str(source), str(tmp_path / "spark-out.ipynb"),
        "-p", "rows", "1000", env=env, cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout
    assert "counted 1000" in outputs_of(tmp_path / "spark-out.ipynb")
    session = await ended_by_its_run(api)
    assert session["endpoint"] == "spark"
    livy = (await api.get("sessions", params={"endpoint": "spark", "live": "true"})).json
    assert livy["sessions"] == []


@pytest.mark.spark
@pytest.mark.timeout(900)
async def test_a_papermill_run_on_the_connect_kernel_ends_its_connect_session(
    api, headless_env, tmp_path
):
    source = notebook(
        tmp_path / "connect.ipynb",
        "rows = 10",
        "print('counted', spark.range(rows).count())",
        kernel="pyspark_connect_broker",
    )

    done = await run(
        sys.executable, "-m", "papermill", str(source), str(tmp_path / "connect-out.ipynb"),
        "-p", "rows", "12", env=headless_env, cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout
    assert "counted 12" in outputs_of(tmp_path / "connect-out.ipynb")  # parameters run locally
    session = await ended_by_its_run(api)
    assert session["protocol"] == "connect"


def test_a_run_is_named_and_labelled_by_what_its_caller_says(monkeypatch, tmp_path):
    monkeypatch.setenv("SPARK_BROKER_RUN", "ci-build-512")
    monkeypatch.setenv("SPARK_BROKER_NOTEBOOK", str(tmp_path / "given.ipynb"))
    run = this_run(kernel_id="0f4c1f7e-0000-4000-8000-000000000000")
    assert (run.name, run.notebook) == ("ci-build-512", tmp_path / "given.ipynb")

    monkeypatch.delenv("SPARK_BROKER_RUN")
    monkeypatch.delenv("SPARK_BROKER_NOTEBOOK")
    monkeypatch.chdir(tmp_path)  # no notebook here, none on pytest's command line
    run = this_run(kernel_id="0f4c1f7e-0000-4000-8000-000000000000")
    assert run.name == "0f4c1f7e-0000-4000-8000-000000000000" and run.notebook is None
    assert run.label == "run 0f4c1f7e-0000-4000-8000-000000000000" and run.profile() is None
