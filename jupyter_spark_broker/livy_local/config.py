"""Options of the local Livy server; each names the ``livy.conf`` key it stands for."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..livy.names import KIND_ALIASES

AUTH_BASIC_ENV = "LIVY_LOCAL_AUTH_BASIC"  # USER:PASSWORD, kept out of the process's argv
EMBEDDED_ENV = "LIVY_LOCAL_EMBEDDED"  # set by LocalLivyProcess: the server ends with its parent
READY_PREFIX = "LIVY_LOCAL_URL="  # the server prints this and its URL on stdout once it listens
EMBEDDED_USER = "spark-broker"  # the Basic user of an embedded Livy, whose password comes by a pipe
# Secrets of Jupyter and of the broker that a Livy child or a session's code must never inherit.
SECRET_ENV_NAMES = frozenset(
    {
        AUTH_BASIC_ENV,
        "SPARK_BROKER_TOKEN",
        "JUPYTER_TOKEN",
        "JUPYTER_PASSWORD",
        "JPY_API_TOKEN",
        "JUPYTERHUB_API_TOKEN",
        "JUPYTERHUB_COOKIE_SECRET",
        "JUPYTERHUB_CRYPT_KEY",
        "CONFIGPROXY_AUTH_TOKEN",
    }
)
# Spark's default spark.redaction.regex: conf keys whose values Spark itself treats as secrets.
_SECRET_CONF_KEY = re.compile(r"(?i)secret|password|token|access[.]?key")
# Spark's settings of the Python its workers and its driver run.
PYTHON_CONF = "spark.pyspark.python"
DRIVER_PYTHON_CONF = "spark.pyspark.driver.python"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Livy's default spark-blacklist.conf: settings a session's request may not choose.
DEFAULT_BLACKLISTED_CONF = frozenset({"spark.master", "spark.submit.deployMode"})
# Kinds whose interpreter does not exist here: refused at create time with the reason.
UNSUPPORTED_KINDS = {"sparkr": "a sparkr session needs an R interpreter"}


def spark_mode(args: Sequence[str]) -> str:
    """The ``--spark`` value among a local Livy's command-line options (the last one, as argparse
    takes it), or the default."""
    mode = LocalLivyConfig.spark
    for index, arg in enumerate(args):
        if arg == "--spark" and index + 1 < len(args):
            mode = args[index + 1]
        elif arg.startswith("--spark="):
            mode = arg.partition("=")[2]
    return mode


def session_kinds(spark: str) -> frozenset[str]:
    """The session kinds a local Livy with ``--spark spark`` runs: never ``sparkr`` (it has no R);
    ``spark`` (Scala, in the SparkSession's JVM) unless Spark is off, and under ``auto`` only where
    pyspark and Java are, as its sessions would otherwise fail to start."""
    kinds = set(KIND_ALIASES.values()) - set(UNSUPPORTED_KINDS)
    if spark == "off" or (spark == "auto" and spark_missing()):
        kinds.discard("spark")
    return frozenset(kinds)


def spark_missing() -> str | None:
    """Why this machine cannot run a local SparkSession (no pyspark, no Java), or None if it can.
    Under ``--spark auto`` only this makes a session plain Python: a SparkSession that fails to
    start where both are (bad settings, too little memory) is a session that failed, as in Livy."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed"
    if shutil.which("java") is None and "JAVA_HOME" not in os.environ:
        return "Java is not installed (no java on PATH, no JAVA_HOME)"
    return None


def spark_python_conf(conf: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """The Python of a Spark this interpreter runs: its workers' (``spark.pyspark.python``, which
    Spark passes to them as PYSPARK_PYTHON) and its driver's (``spark.pyspark.driver.python``).

    What the session's conf names wins, then the environment's PYSPARK_PYTHON (an operator's
    choice); else, for workers on this machine (a ``local`` master), this interpreter, which has
    pyspark and pyarrow. Spark's own default, the PATH's ``python3``, may be another interpreter
    without them, where every Python UDF fails. A cluster's workers (``spark://...``) may have no such
    path: they keep Spark's default unless the profile names their Python.
    """
    local = conf.get("spark.master", "local").startswith("local")
    workers = conf.get(PYTHON_CONF) or environ.get("PYSPARK_PYTHON")
    workers = workers or (sys.executable if local else "python3")
    return {
        PYTHON_CONF: workers,
        DRIVER_PYTHON_CONF: conf.get(DRIVER_PYTHON_CONF) or sys.executable,
    }


def is_secret_conf_key(key: str) -> bool:
    """Whether a Spark conf key holds a secret, by Spark's own default redaction pattern."""
    return _SECRET_CONF_KEY.search(key) is not None


def without_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in environ.items() if name not in SECRET_ENV_NAMES}


@dataclass(frozen=True)
class LocalLivyConfig:
    host: str = "127.0.0.1"
    port: int = 8998  # livy.server.port; 0 picks a free port
    basic_auth: tuple[str, str] | None = None  # livy.server.auth.type=ldap (HTTP Basic)
    kerberos_principal: str | None = None  # livy.server.auth.type=kerberos: ...kerberos.principal
    kerberos_keytab: str | None = None  # livy.server.auth.kerberos.keytab
    auth_token_validity: float = 36000.0  # livy.server.auth.kerberos.token.validity (hadoop.auth)
    csrf: bool = False  # livy.server.csrf-protection.enabled
    check_host: bool = False  # not in Livy: refuse a Host header that is not a loopback name
    impersonation: bool = False  # livy.impersonation.enabled: sessions take a proxyUser
    superusers: frozenset[str] = frozenset()  # livy.superusers: may impersonate anyone
    spark: str = "auto"  # auto | on | off: run sessions with a local SparkSession
    blacklisted_conf: frozenset[str] = DEFAULT_BLACKLISTED_CONF  # conf/spark-blacklist.conf
    max_sessions: int | None = None  # not in Livy: a cap on live sessions for a small machine
    max_creation: int = 100  # livy.server.session.max-creation
    session_timeout: float = 3600.0  # livy.server.session.timeout; 0 turns the check off
    session_timeout_skip_busy: bool = False  # livy.server.session.timeout-check.skip-busy
    ttl_check: bool = False  # livy.server.session.ttl-check
    default_ttl: float = 8 * 3600.0  # livy.server.session.ttl
    state_retain: float = 600.0  # livy.server.session.state-retain.sec
    gc_interval: float = 60.0  # SessionManager's garbage-collection period
    heartbeat_watchdog_interval: float = 60.0  # livy.server.heartbeat-watchdog.interval
    retained_statements: int = 100  # livy.rsc.retained-statements
    cancel_timeout: float = 30.0  # livy.rsc.job-cancel.timeout
    log_lines: int = 200  # livy.cache-log.size
    max_output: int = 1_000_000  # not in Livy: characters of one output value kept, then a marker
    # Not in Livy: the embedded Livy's secret, from which each session's Spark UI key is derived
    # (ui_guard): its drivers then serve their UI only to the broker's proxy.
    spark_ui_secret: str | None = None


_DURATION = re.compile(r"^\s*(\d+)\s*(us|ms|s|m|min|h|d)?\s*$")
_SECONDS_PER_UNIT = {
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "min": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}


def parse_duration(text: str) -> float:
    """Seconds of a Livy time string (``ClientConf.getTimeAsMs``: no suffix means milliseconds)."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"Invalid time string: {text}")
    number, unit = match.groups()
    return int(number) * _SECONDS_PER_UNIT[unit or "ms"]
