"""A profile's settings as a Spark Connect server's Spark conf.

Profiles name Livy session fields (``driverMemory``, ``conf``, ``jars``…); a Connect server the broker
runs is a ``spark-submit``, so the same fields become the Spark properties Livy would have set.
"""

from __future__ import annotations

from .profiles import Profile
from .session_settings import fields_of

# Livy's session fields and the Spark properties they stand for (Livy's own mapping).
_PROPERTIES = {
    "driver_memory": "spark.driver.memory",
    "driver_cores": "spark.driver.cores",
    "executor_memory": "spark.executor.memory",
    "executor_cores": "spark.executor.cores",
    "num_executors": "spark.executor.instances",
    "queue": "spark.yarn.queue",
}
_LISTS = {
    "jars": "spark.jars",
    "py_files": "spark.submit.pyFiles",
    "files": "spark.files",
    "archives": "spark.archives",
}


def spark_conf_of(profile: Profile) -> dict[str, str]:
    """The profile's ``conf``, plus its other session fields as Spark properties (those win)."""
    fields = fields_of(profile.settings)
    conf = {str(key): str(value) for key, value in (fields.get("conf") or {}).items()}
    for field, prop in _PROPERTIES.items():
        if field in fields:
            conf[prop] = str(fields[field])
    for field, prop in _LISTS.items():
        if fields.get(field):
            conf[prop] = ",".join(fields[field])
    return conf
