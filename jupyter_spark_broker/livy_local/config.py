"""Options of the local Livy server; each names the ``livy.conf`` key it stands for."""

from __future__ import annotations

import re
from dataclasses import dataclass

AUTH_BASIC_ENV = "LIVY_LOCAL_AUTH_BASIC"  # USER:PASSWORD, kept out of the process's argv
EMBEDDED_ENV = "LIVY_LOCAL_EMBEDDED"  # set by LocalLivyProcess: the server ends with its parent
READY_PREFIX = "LIVY_LOCAL_URL="  # the server prints this and its URL on stdout once it listens


@dataclass(frozen=True)
class LocalLivyConfig:
    host: str = "127.0.0.1"
    port: int = 8998  # livy.server.port; 0 picks a free port
    basic_auth: tuple[str, str] | None = None  # livy.server.auth.type=ldap (HTTP Basic)
    kerberos_principal: str | None = None  # livy.server.auth.type=kerberos: ...kerberos.principal
    kerberos_keytab: str | None = None  # livy.server.auth.kerberos.keytab
    auth_token_validity: float = 36000.0  # livy.server.auth.kerberos.token.validity (hadoop.auth)
    csrf: bool = False  # livy.server.csrf-protection.enabled
    impersonation: bool = False  # livy.impersonation.enabled: sessions take a proxyUser
    superusers: frozenset[str] = frozenset()  # livy.superusers: may impersonate anyone
    spark: str = "auto"  # auto | on | off: run sessions with a local SparkSession
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
