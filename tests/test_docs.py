"""The documentation site builds with every warning an error, as CI builds it, and README.md stays the
entrance: at most 150 lines, opening on the two commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_docs_build_without_a_warning(tmp_path: Path):
    pytest.importorskip("sphinx", reason="the docs extra is not installed")
    pytest.importorskip("myst_parser", reason="the docs extra is not installed")
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "docs", tmp_path],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout[-5000:] + build.stderr
    page = (tmp_path / "reference" / "rest-api.html").read_text()
    # The REST reference is rendered from openapi.yaml: an operation, a parameter, a schema.
    assert 'id="api-op-attach"' in page and "/spark-broker/api/attachments" in page
    assert 'id="api-schema-session"' in page and "session_id" in page


def test_readme_is_an_entrance_that_opens_on_the_two_commands():
    readme = (REPO / "README.md").read_text().splitlines()
    assert len(readme) <= 150
    assert readme[:6] == [
        "# jupyter-spark-broker",
        "",
        "```bash",
        "scripts/run.sh     # set up if needed, then JupyterLab with the Spark broker on its embedded "
        "local Livy",
        "scripts/test.sh    # set up, then the whole test suite (CI runs exactly this: .ci/run)",
        "```",
    ]
    text = "\n".join(readme)
    assert "pip install jupyter-spark-broker" in text
    assert "../shared" not in text


def test_docs_send_no_reader_outside_the_repository():
    for page in (REPO / "docs").rglob("*.md"):
        assert "shared/design" not in page.read_text(), page
