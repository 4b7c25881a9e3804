"""Jupyter server config of the docker-compose setup: the Apache Livy service is the default endpoint."""

import os

c = get_config()  # noqa: F821 (Jupyter's config loader defines it)

c.SparkEndpoints.endpoints = {"livy": {"url": os.environ.get("LIVY_URL", "http://livy:8998")}}
c.SparkEndpoints.default_endpoint = "livy"
c.ServerApp.kernel_websocket_connection_class = (
    "jupyter_spark_broker.server.websocket.NoDelayKernelConnection"
)
