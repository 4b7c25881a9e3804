"""The Lab extension's own checks, as part of the suite: its lint (prettier and eslint, no warning
allowed) and its unit tests (jest, src/__tests__/). They run the npm devDependencies
``scripts/setup.sh`` installs (``npm ci``), offline: nothing may download at test time."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# setup.sh puts a recent Node.js here when the machine's is too old to build the extension.
VENV_NODE = REPO / ".venv" / "node"


def npm() -> tuple[str, dict[str, str]]:
    """The npm to run, and an environment whose PATH has its node (npm scripts call `node`)."""
    env = {
        **os.environ,
        "CI": "true",
        # No calls to the registry: this network has none, and the checks need none.
        "npm_config_offline": "true",
        "npm_config_update_notifier": "false",
        "npm_config_audit": "false",
        "npm_config_fund": "false",
    }
    if (VENV_NODE / "npm").exists():
        env["PATH"] = f"{VENV_NODE}{os.pathsep}{env.get('PATH', '')}"
        return str(VENV_NODE / "npm"), env
    found = shutil.which("npm")
    assert found, "npm is missing: scripts/setup.sh installs Node.js and npm"
    return found, env


def run(*args: str) -> subprocess.CompletedProcess:
    for tool in ("eslint", "prettier", "jest"):
        assert (REPO / "node_modules" / ".bin" / tool).exists(), (
            f"node_modules has no {tool}: scripts/setup.sh installs the npm devDependencies (npm ci)"
        )
    command, env = npm()
    return subprocess.run(
        [command, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # two busy cores: eslint's type-aware rules and ts-jest take their time
    )


def output(done: subprocess.CompletedProcess) -> str:
    return f"$ {' '.join(done.args)}\n{done.stdout[-20000:]}\n{done.stderr[-20000:]}"


@pytest.mark.timeout(1200)
def test_the_lab_extension_passes_prettier_and_eslint():
    done = run("run", "lint:check")
    assert done.returncode == 0, output(done)


@pytest.mark.timeout(1200)
def test_the_lab_extensions_unit_tests_pass():
    # `npx jest --ci`, through npm exec: setup.sh's own Node.js (.venv/node) comes without npx.
    done = run("exec", "--", "jest", "--ci")
    assert done.returncode == 0, output(done)
    assert re.search(r"^Tests:\s+\d+ passed, \d+ total$", done.stderr, re.M), output(done)
