"""``jupyter spark-broker sessions|kill|endpoints`` against a real running ``jupyter server``, found
the way a person's terminal finds it: through the server's runtime file (URL and token)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from jupyter_spark_broker.cli import _purpose
from tests.live_server import LiveJupyter


def spark_broker(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_spark_broker.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.fixture
def server(tmp_path, livy_url, monkeypatch):
    # The server writes its runtime file here, and the command looks for it here.
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    for name in ("SPARK_BROKER_URL", "SPARK_BROKER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with LiveJupyter(tmp_path, livy_url) as running:
        yield running


def test_sessions_kill_and_endpoints_from_a_terminal(server):
    api = f"{server.url}/spark-broker/api/"
    attached = httpx.post(
        api + "attachments", json={"path": "reports/daily.ipynb"}, headers=server.headers
    ).json()
    session_id = attached["session_id"]

    listed = spark_broker("sessions")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()[:2]
    assert header.split() == ["ID", "STATE", "KIND", "ENDPOINT", "OWNER", "CREATED", "FOR"]
    assert row.startswith(session_id[:8]) and row.endswith("reports/daily.ipynb")
    assert " live " in f" {row} "  # the endpoint of this server

    as_json = json.loads(spark_broker("sessions", "--json").stdout)
    assert [s["id"] for s in as_json] == [session_id]

    endpoints = spark_broker("endpoints")
    assert endpoints.returncode == 0, endpoints.stderr
    assert any(line.startswith("live *") for line in endpoints.stdout.splitlines())
    assert "password" not in endpoints.stdout

    killed = spark_broker("kill", session_id[:8])
    assert killed.returncode == 0, killed.stderr
    assert killed.stdout.startswith(f"Killed {session_id[:8]} (pyspark on live)")
    state = httpx.get(api + f"sessions/{session_id}", headers=server.headers).json()["state"]
    assert state == "killed"
    assert "No live Spark sessions." in spark_broker("sessions").stdout
    assert session_id[:8] in spark_broker("sessions", "--all").stdout

    unknown = spark_broker("kill", "ffffffff")
    assert unknown.returncode == 1
    assert "'ffffffff' names no Spark session of yours" in unknown.stderr


def test_the_command_says_what_is_missing(server, tmp_path):
    wrong_token = spark_broker("sessions", f"--url={server.url}", "--token=not-it")
    assert wrong_token.returncode == 1 and "The broker refused (403)" in wrong_token.stderr
    elsewhere = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "empty")}
    nothing = spark_broker("sessions", env=elsewhere)
    assert nothing.returncode == 1
    assert "No running Jupyter server found" in nothing.stderr


def test_the_for_column_names_notebooks_and_names_never_internal_keys():
    assert _purpose("connect:notebook:alice:work/Untitled1.ipynb") == "work/Untitled1.ipynb"
    assert _purpose("connect:name:team") == _purpose("name:team") == "name team"
    assert _purpose("notebook:alice:reports/daily.ipynb") == "reports/daily.ipynb"
    assert _purpose(None) == "-"
