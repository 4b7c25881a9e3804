"""Where the registry and its sealing key live unless configured: one place for the Jupyter servers
(``SparkBrokerApp``) and the JupyterHub service (``hub/``), so both find the same registry."""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir

DB_URL_ENV = "SPARK_BROKER_DB_URL"


def default_db_url() -> str:
    """``SPARK_BROKER_DB_URL``, else an SQLite file in the Jupyter data dir."""
    if os.environ.get(DB_URL_ENV):
        return os.environ[DB_URL_ENV]
    return "sqlite:///" + str(Path(jupyter_data_dir()) / "spark_broker" / "registry.sqlite")


def default_secret_key_file(db_url: str) -> str:
    """Beside an SQLite file, else in the Jupyter data dir."""
    if db_url.startswith("sqlite:///") and db_url != "sqlite:///:memory:":
        return str(Path(db_url[len("sqlite:///") :]).with_name("secret.key"))
    return str(Path(jupyter_data_dir()) / "spark_broker" / "secret.key")
