"""``%%configure``'s settings, checked in the kernel before ``-f`` ends the running session: a typo
must not cost the user the session and its state. The broker checks them again (and its limits)."""

from __future__ import annotations

from typing import Any

from ..livy.names import SPARK_SIZE

# The settings a notebook may ask for, by Livy's names, in the order a user reads them (the broker
# names the session and sets its heartbeat itself).
SETTINGS = (
    "kind", "conf", "driverMemory", "driverCores", "executorMemory", "executorCores",
    "numExecutors", "queue", "jars", "pyFiles", "files", "archives", "ttl", "idleTimeout",
    "proxyUser",
)  # fmt: skip


def settings_problem(settings: dict[str, Any]) -> str | None:
    """What is wrong with ``settings``, in one sentence naming the setting; None if nothing."""
    for name, value in settings.items():
        if name not in SETTINGS:
            return f"unknown setting {name!r}; the settings are {', '.join(SETTINGS)}"
        if name in ("driverMemory", "executorMemory"):
            if not (isinstance(value, str) and SPARK_SIZE.fullmatch(value)):
                return f'{name}: a size such as "2g" or "512m", not {value!r}'
        elif name in ("driverCores", "executorCores", "numExecutors"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                return f"{name}: a whole number of at least 1, not {value!r}"
        elif name in ("jars", "pyFiles", "files", "archives"):
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                return f'{name}: a list of paths or URLs, such as ["hdfs:///libs/a.jar"]'
        elif name == "conf":
            if not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
                return (
                    "conf: an object of Spark properties with string values, such as "
                    '{"spark.sql.shuffle.partitions": "8"}'
                )
        elif not isinstance(value, str):
            return f"{name}: a string, not {value!r}"
    return None
