"""Livy's names: session and statement states, code kinds, session-setting names.

Dependency free, so the server, the local Livy and the kernel side import the same sets
(``livy-rest-protocol.md`` §2.1, §4, §5.3).
"""

from __future__ import annotations

import re

# Session states (§4). ``error`` is active for Livy but finished for a client: nothing will run.
SESSION_STARTING_STATES = frozenset({"not_started", "starting", "recovering"})
SESSION_READY_STATES = frozenset({"idle", "busy", "running"})
SESSION_FINISHED_STATES = frozenset({"shutting_down", "error", "dead", "killed", "success"})
# The broker's own: Livy no longer has the session (forgotten after a restart, endpoint removed).
LOST = "lost"
# Finished for the broker's registry: Livy's finished states and ``lost``.
RECORD_FINISHED_STATES = SESSION_FINISHED_STATES | {LOST}

# Statement states (§5.3). ``error`` is not emitted by Livy's code but is listed in its docs.
STATEMENT_FINISHED_STATES = frozenset({"available", "cancelled", "error"})

# Kind.scala: every accepted name and the kind it stands for.
KIND_ALIASES = {
    "spark": "spark",
    "scala": "spark",
    "pyspark": "pyspark",
    "python": "pyspark",
    "sparkr": "sparkr",
    "r": "sparkr",
    "sql": "sql",
    "shared": "shared",
}
# A statement runs in one of these; a session may also be ``shared`` (each statement names its kind).
STATEMENT_KINDS = tuple(name for name in KIND_ALIASES if name != "shared")
SESSION_KINDS = tuple(KIND_ALIASES)
DEFAULT_KIND = "pyspark"

# Spark's sizes (driverMemory, executorMemory): 512m, 2g, 1024k.
# Spelled out in both cases, not re.IGNORECASE: the pattern goes into openapi.yaml as it is.
SPARK_SIZE_PATTERN = "[0-9]+[kmgtpKMGTP]?[bB]?"
SPARK_SIZE = re.compile(SPARK_SIZE_PATTERN)

# Fields of ``POST /sessions`` by Livy's name -> the client's snake_case name (§2.1).
SESSION_SETTINGS = {
    "kind": "kind",
    "proxyUser": "proxy_user",
    "jars": "jars",
    "pyFiles": "py_files",
    "files": "files",
    "archives": "archives",
    "driverMemory": "driver_memory",
    "driverCores": "driver_cores",
    "executorMemory": "executor_memory",
    "executorCores": "executor_cores",
    "numExecutors": "num_executors",
    "queue": "queue",
    "name": "name",
    "conf": "conf",
    "heartbeatTimeoutInSecond": "heartbeat_timeout_in_second",
    "ttl": "ttl",
    "idleTimeout": "idle_timeout",
}
