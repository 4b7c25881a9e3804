"""Spark UIs that answer only the broker's proxy: Spark's own ``JWSFilter`` (Spark 4.0 and later).

A Spark driver serves its UI and REST API (jobs, SQL text, thread dumps, environment) over plain HTTP on
127.0.0.1, where every OS user of the host can reach it. The drivers the broker starts (the embedded
local Livy's sessions and the Connect servers) load ``org.apache.spark.ui.JWSFilter`` with a key of
their own: a request without ``Authorization: Bearer <JWS signed with that key>`` gets 403. The broker's
UI proxy (and the worker itself, for its own REST calls) signs such a token; nothing else knows the key.

The key reaches a driver through its SparkConf, never its argv: :mod:`.worker.main` launches the JVM
without secret conf keys, and the Connect servers read theirs from a 0600 properties file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

FILTER = "org.apache.spark.ui.JWSFilter"
KEY_CONF = f"spark.{FILTER}.param.secretKey"  # Spark redacts it: the name holds "secret"
FILTERS_CONF = "spark.ui.filters"
_HEADER = {"alg": "HS256", "typ": "JWT"}


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_key() -> str:
    """A fresh key, as JWSFilter takes it: 256 random bits, base64url (HS256's minimum size)."""
    return _base64url(secrets.token_bytes(32))


def session_key(livy_secret: str, session_id: int) -> str:
    """The key of one embedded-Livy session's UI, derived from the secret the broker and that Livy
    share: code in one session, which can read its own key, learns nothing of another's."""
    digest = hmac.new(
        livy_secret.encode("utf-8"), f"spark-ui:{session_id}".encode(), hashlib.sha256
    )
    return _base64url(digest.digest())


def filter_conf(key: str, conf: dict[str, str] | None = None) -> dict[str, str]:
    """``conf`` with the filter added to any the user named, and its key."""
    conf = dict(conf or {})
    named = [name.strip() for name in conf.get(FILTERS_CONF, "").split(",") if name.strip()]
    conf[FILTERS_CONF] = ",".join([*named, FILTER] if FILTER not in named else named)
    conf[KEY_CONF] = key
    return conf


def authorization(key: str) -> str:
    """The ``Authorization`` header value JWSFilter accepts: a bearer JWS (HS256, no claims)."""
    signing_input = ".".join(
        _base64url(json.dumps(part, separators=(",", ":")).encode()) for part in (_HEADER, {})
    )
    padded = key + "=" * (-len(key) % 4)
    signature = hmac.new(
        base64.urlsafe_b64decode(padded), signing_input.encode("ascii"), hashlib.sha256
    ).digest()
    return f"Bearer {signing_input}.{_base64url(signature)}"


def spark_has_filter(spark_version: str) -> bool:
    """Whether this Spark ships JWSFilter (4.0 and later); older drivers' UIs stay unguarded."""
    try:
        return int(spark_version.split(".")[0]) >= 4
    except ValueError:
        return False
