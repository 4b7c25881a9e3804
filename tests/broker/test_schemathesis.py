"""Schemathesis over openapi.yaml against a live Jupyter server with the broker: no 5xx, no response
outside the contract, none held past its wait (MAX_RESPONSE_TIME, from the server's max_statement_wait,
whatever ``wait=`` a request asks). Bounded: a fixed number of examples per operation, drawn from a seed
that changes with each commit (so each commit explores new examples; ``SCHEMATHESIS_SEED=random`` draws
one) and is printed, so any failure replays:
``SCHEMATHESIS_SEED=<seed> pytest tests/broker/test_schemathesis.py``."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live_server import LiveJupyter

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"
CONFIG = Path(__file__).with_name("schemathesis.toml")
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
# The server's longest hold, far below the wait= (up to 3600 s) and statement_start_hold (20 s) that
# generated requests may ask: each request answers within it, plus one Livy call (the Livy timeouts
# below: Livy calls are bounded by those, not by the hold) and a margin for a busy 2-core machine.
MAX_STATEMENT_WAIT = 3.0
LIVY_CONNECT_TIMEOUT, LIVY_READ_TIMEOUT = 1.0, 5.0
MAX_RESPONSE_TIME = MAX_STATEMENT_WAIT + LIVY_CONNECT_TIMEOUT + LIVY_READ_TIMEOUT + 8


def seed_of_this_commit() -> int:
    """SCHEMATHESIS_SEED if set (to replay), else from the checked-out commit's hash."""
    if os.environ.get("SCHEMATHESIS_SEED") == "random":
        return random.randrange(2**32)
    if os.environ.get("SCHEMATHESIS_SEED"):
        return int(os.environ["SCHEMATHESIS_SEED"])
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=SPEC.parent, check=False
    ).stdout.strip()
    return int(head[:8], 16) if head else 20261122


@pytest.mark.timeout(900)
def test_schemathesis_finds_no_server_error_and_no_contract_break(tmp_path, livy_url):
    seed = seed_of_this_commit()
    print(f"schemathesis seed: {seed} (replay: SCHEMATHESIS_SEED={seed})")
    st = Path(sys.executable).with_name("st")  # the venv's, whether or not it is activated
    assert st.exists(), "schemathesis is in the test extra; scripts/test.sh installs it"
    # No retries: generated bodies point at Livy URLs that do not exist, and each would be retried.
    with LiveJupyter(
        tmp_path,
        livy_url,
        livy_retries=0,
        livy_connect_timeout=LIVY_CONNECT_TIMEOUT,
        livy_read_timeout=LIVY_READ_TIMEOUT,
        max_statement_wait=MAX_STATEMENT_WAIT,
    ) as server:
        result = subprocess.run(
            [
                st,
                "--config-file",
                str(CONFIG),
                "run",
                str(SPEC),
                "--url",
                server.url,
                "--header",
                f"Authorization: token {server.token}",
                "--checks",
                CHECKS,
                "--max-examples",
                "15",
                "--seed",
                str(seed),
                "--max-response-time",
                str(MAX_RESPONSE_TIME),
                "--request-timeout",
                "60",
                "--no-color",
            ],  # fmt: skip
            capture_output=True,
            text=True,
            timeout=840,
            cwd=tmp_path,  # schemathesis keeps a cache in its working directory
        )
        log = (tmp_path / "jupyter.log").read_text(errors="replace")
    replay = f"seed {seed}: replay with SCHEMATHESIS_SEED={seed}\n"
    assert result.returncode == 0, replay + result.stdout[-6000:] + result.stderr[-2000:]
    assert "Traceback" not in log, log[-4000:]
