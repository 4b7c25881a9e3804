"""jupyter-spark-broker: a Jupyter Server extension that owns Apache Livy sessions.

Importing the package is cheap: the kernel side (``jupyter_spark_broker.kernel``) must not pull in
jupyter_server, tornado or SQLAlchemy, so the extension app is imported only when Jupyter asks for it.
"""

from ._version import __version__


def _jupyter_server_extension_points() -> list[dict]:
    from .server.app import SparkBrokerApp

    return [{"module": "jupyter_spark_broker", "app": SparkBrokerApp}]


__all__ = ["__version__"]
