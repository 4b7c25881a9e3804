"""``python -m jupyter_spark_broker.livy_local``: a Livy-compatible REST server on this machine."""

from __future__ import annotations

import argparse
import importlib.util
import os

from .config import (
    AUTH_BASIC_ENV,
    EMBEDDED_ENV,
    EMBEDDED_USER,
    SECRET_ENV_NAMES,
    LocalLivyConfig,
)
from .lifeline import die_with_parent
from .server.run import run


def parse_args(argv: list[str] | None = None) -> tuple[LocalLivyConfig, bool]:
    defaults = LocalLivyConfig()
    parser = argparse.ArgumentParser(
        prog="python -m jupyter_spark_broker.livy_local",
        description="A Livy-compatible REST server whose sessions are local Python (and Spark) "
        "processes. Prints LIVY_LOCAL_URL=<url> on stdout once it answers.",
    )
    parser.add_argument("--host", default=defaults.host)
    parser.add_argument("--port", type=int, default=defaults.port, help="0 picks a free port")
    parser.add_argument(
        "--auth-basic",
        metavar="USER:PASSWORD",
        help=f"require HTTP Basic auth (like livy.server.auth.type=ldap); prefer ${AUTH_BASIC_ENV}, "
        "which keeps the password out of the process list",
    )
    parser.add_argument(
        "--auth-secret-fd",
        type=int,
        metavar="FD",
        help=f"require HTTP Basic auth as user {EMBEDDED_USER!r} with the password read from this "
        "inherited file descriptor (how the broker locks its embedded Livy)",
    )
    parser.add_argument(
        "--check-host",
        action="store_true",
        help="refuse requests whose Host header is not a loopback name (DNS rebinding)",
    )
    parser.add_argument(
        "--auth-kerberos",
        metavar="PRINCIPAL",
        help="require Kerberos (SPNEGO), like livy.server.auth.type=kerberos, as this service "
        "principal (e.g. HTTP/localhost@EXAMPLE.COM); needs --auth-kerberos-keytab and the "
        "kerberos extra",
    )
    parser.add_argument("--auth-kerberos-keytab", metavar="FILE", help="the principal's keytab")
    parser.add_argument(
        "--csrf", action="store_true", help="require X-Requested-By on every non-GET request"
    )
    parser.add_argument(
        "--impersonation",
        action="store_true",
        help="livy.impersonation.enabled: a session runs as its proxyUser (recorded and reported; "
        "the worker stays this OS user), which a user may set only to themselves",
    )
    parser.add_argument(
        "--superusers",
        metavar="USER[,USER...]",
        default="",
        help="livy.superusers: users who may impersonate anyone",
    )
    parser.add_argument(
        "--spark",
        choices=("auto", "on", "off"),
        default=defaults.spark,
        help="bind spark/sc/sqlContext to a local[*] SparkSession: auto = when pyspark and Java "
        "work (else plain Python, said in the session log); on = a session fails without it; "
        "off = never (fast sessions for tests)",
    )
    parser.add_argument(
        "--blacklisted-conf",
        metavar="KEY[,KEY...]",
        default=",".join(sorted(defaults.blacklisted_conf)),
        help="Spark conf keys a session request may not set (Livy's conf/spark-blacklist.conf); "
        "'' allows every key, for a client that checks requests itself, as the broker does",
    )
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=defaults.max_sessions,
        help="refuse new sessions beyond this many live ones",
    )
    parser.add_argument(
        "--max-creation",
        type=int,
        default=defaults.max_creation,
        help="livy.server.session.max-creation: sessions starting at once",
    )
    parser.add_argument(
        "--session-timeout",
        type=float,
        default=defaults.session_timeout,
        help="seconds without activity before a session is deleted; 0 = never",
    )
    parser.add_argument("--session-timeout-skip-busy", action="store_true")
    parser.add_argument(
        "--ttl-check",
        action="store_true",
        help="delete sessions older than their ttl (livy.server.session.ttl-check)",
    )
    parser.add_argument(
        "--state-retain",
        type=float,
        default=defaults.state_retain,
        help="seconds a finished session stays visible",
    )
    parser.add_argument("--gc-interval", type=float, default=defaults.gc_interval)
    parser.add_argument(
        "--heartbeat-watchdog-interval", type=float, default=defaults.heartbeat_watchdog_interval
    )
    parser.add_argument("--retained-statements", type=int, default=defaults.retained_statements)
    parser.add_argument("--cancel-timeout", type=float, default=defaults.cancel_timeout)
    parser.add_argument(
        "--max-output",
        type=int,
        default=defaults.max_output,
        help="characters of one statement output value kept; past them it is cut with a marker",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request to stderr")
    options = parser.parse_args(argv)

    basic = options.auth_basic or os.environ.get(AUTH_BASIC_ENV)
    basic_auth = None
    spark_ui_secret = None
    superusers = frozenset(filter(None, options.superusers.split(",")))
    if options.auth_secret_fd is not None:
        with os.fdopen(options.auth_secret_fd, encoding="utf-8") as pipe:
            secret = pipe.read().strip()
        if not secret:
            parser.error("--auth-secret-fd gave an empty secret")
        basic = f"{EMBEDDED_USER}:{secret}"
        spark_ui_secret = secret  # only the broker, which holds it too, may read the drivers' UIs
        superusers |= {EMBEDDED_USER}  # the broker names each session's proxyUser itself
    if basic:
        user, sep, password = basic.partition(":")
        if not sep or not user or not password:
            parser.error("basic auth must be USER:PASSWORD, both non-empty")
        basic_auth = (user, password)
    if bool(options.auth_kerberos) != bool(options.auth_kerberos_keytab):
        parser.error("--auth-kerberos and --auth-kerberos-keytab go together")
    if options.max_output < 1000:
        parser.error("--max-output must be at least 1000")
    if options.auth_kerberos and basic_auth:
        parser.error("choose one of Basic and Kerberos auth")
    if options.auth_kerberos and importlib.util.find_spec("gssapi") is None:
        parser.error(
            "Kerberos needs the kerberos extra: pip install 'jupyter-spark-broker[kerberos]'"
        )
    config = LocalLivyConfig(
        host=options.host,
        port=options.port,
        basic_auth=basic_auth,
        spark_ui_secret=spark_ui_secret,
        kerberos_principal=options.auth_kerberos,
        kerberos_keytab=options.auth_kerberos_keytab,
        csrf=options.csrf,
        check_host=options.check_host,
        impersonation=options.impersonation,
        superusers=superusers,
        spark=options.spark,
        blacklisted_conf=frozenset(filter(None, options.blacklisted_conf.split(","))),
        max_sessions=options.max_sessions,
        max_creation=options.max_creation,
        session_timeout=options.session_timeout,
        session_timeout_skip_busy=options.session_timeout_skip_busy,
        ttl_check=options.ttl_check,
        state_retain=options.state_retain,
        gc_interval=options.gc_interval,
        heartbeat_watchdog_interval=options.heartbeat_watchdog_interval,
        retained_statements=options.retained_statements,
        cancel_timeout=options.cancel_timeout,
        max_output=options.max_output,
    )
    return config, options.access_log


def main(argv: list[str] | None = None) -> None:
    config, access_log = parse_args(argv)
    for name in SECRET_ENV_NAMES:  # read already; the sessions' workers inherit this environment
        os.environ.pop(name, None)
    if os.environ.get(EMBEDDED_ENV):
        die_with_parent()  # SIGTERM: stop every session on the way out, as on a normal stop
    run(config, access_log=access_log)


if __name__ == "__main__":
    main()
