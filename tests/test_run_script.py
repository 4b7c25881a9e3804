"""``scripts/run.sh`` sets up .venv only when it has to: on the first run, or after pyproject.toml,
package.json, the Lab extension's sources or the extras changed (the stamp ``setup.sh`` leaves in
.venv). A later start needs no network and says what it does, one line per step. It once ran pip on
every start: minutes of silence the first time, 30 s each later one, and no start without network.

Each test runs the real scripts in a copy of the checkout whose .venv is a real venv without pip, its
``jupyter`` this checkout's own: a start that tried to install would fail, not touch this .venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import jupyterlab
import pytest

REPO = Path(__file__).resolve().parents[1]
# What scripts/setup.sh reads, so its fingerprint of the copy is the checkout's.
COPIED = (
    "scripts",
    "pyproject.toml",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "src",
    "style",
    "jupyter-config",
)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    copy = tmp_path / "checkout"
    copy.mkdir()
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, copy / name)
        elif source.exists():
            shutil.copy2(source, copy / name)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", copy / ".venv"], check=True)
    (copy / ".venv" / "bin" / "jupyter").symlink_to(Path(sys.prefix) / "bin" / "jupyter")
    return copy


def stamp(checkout: Path, extras: str) -> None:
    """What a set-up with ``extras`` that finished leaves."""
    fingerprint = subprocess.run(
        ["bash", "scripts/setup.sh", "--fingerprint"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (checkout / ".venv" / ".setup-stamp").write_text(f"{fingerprint}\n{extras}\n")


def run_sh(checkout: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SPARK_BROKER_NOTEBOOKS": str(checkout / "notebooks")}
    return subprocess.run(
        ["bash", "scripts/run.sh", "--version"],  # jupyter lab prints its version and ends
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_start_after_set_up_goes_straight_to_jupyterlab(checkout):
    stamp(checkout, "spark,connect,lab,test")  # as scripts/test.sh's set-up leaves it
    started = run_sh(checkout)
    assert started.returncode == 0, started.stdout + started.stderr
    assert started.stdout.splitlines() == [
        "setup: .venv is up to date",
        f"run: starting JupyterLab (notebooks in {checkout / 'notebooks'})…",
        jupyterlab.__version__,
    ]


@pytest.mark.parametrize("change", ["extras", "pyproject.toml", "src"])
def test_a_start_after_a_change_sets_up_again_and_says_so(checkout, change):
    stamp(checkout, "spark" if change == "extras" else "spark,connect,lab")
    if change == "pyproject.toml":
        with (checkout / "pyproject.toml").open("a") as pyproject:
            pyproject.write("\n# a new dependency, say\n")
    elif change == "src":
        (checkout / "src" / "new_panel.ts").write_text("export const x = 1;\n")
    started = run_sh(checkout)
    lines = started.stdout.splitlines()
    assert lines[0] == (
        "setup: setting up .venv again (pyproject.toml, package.json, the Lab extension or the "
        "extras changed)…"
    )
    # This .venv has no pip: the set-up it started fails, and JupyterLab does not start.
    assert started.returncode != 0
    assert not any(line.startswith("run: starting JupyterLab") for line in lines)
