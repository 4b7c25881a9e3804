"""Sphinx configuration of jupyter-spark-broker's documentation (MyST Markdown pages).

Build it as CI does: ``sphinx-build -W --keep-going -b html docs docs/_build/html``. The build needs
no network: no intersphinx, no theme or script from a CDN. The REST API reference is rendered from
``jupyter_spark_broker/openapi.yaml`` by the small extension in ``_ext/openapi_reference.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))


def _version() -> str:
    namespace: dict = {}
    exec((ROOT / "jupyter_spark_broker" / "_version.py").read_text(), namespace)
    return namespace["__version__"]


project = "jupyter-spark-broker"
author = "jupyter-spark-broker contributors"
copyright = "jupyter-spark-broker contributors"
release = version = _version()

extensions = ["myst_parser", "openapi_reference"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# The spec the REST API reference is rendered from (relative to this folder).
openapi_spec = "../jupyter_spark_broker/openapi.yaml"

html_theme = "alabaster"
html_title = "jupyter-spark-broker"
html_static_path: list[str] = []
html_theme_options = {
    "description": "Spark sessions owned by the Jupyter server",
    "fixed_sidebar": False,
    "page_width": "1100px",
}
