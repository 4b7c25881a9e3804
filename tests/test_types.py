"""The type checker (issue 21): mypy as pyproject.toml's [tool.mypy] configures it passes on the
package, strict on the Livy client and the registry. Nothing is downloaded: mypy and the stubs come
with the test extra. Its cache is .mypy_cache/ in the checkout, so a second run takes seconds."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import jupyter_spark_broker.livy as livy

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.timeout(900)  # a first run, without a cache, on a busy machine
def test_mypy_passes():
    result = subprocess.run(
        [sys.executable, "-m", "mypy"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert result.returncode == 0, f"mypy failed:\n{result.stdout}{result.stderr}"


def test_the_livy_package_shows_mypy_every_name_it_loads_lazily():
    """``livy/__init__.py`` loads its names on first use (PEP 562) and imports them for mypy under
    TYPE_CHECKING; a name missing there would be ``Any`` to mypy wherever it is used."""
    tree = ast.parse(Path(livy.__file__).read_text())
    for_mypy = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for statement in node.body
        if isinstance(statement, ast.ImportFrom)
        for alias in statement.names
    }
    assert for_mypy == set(livy.__all__)
