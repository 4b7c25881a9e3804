"""Kernel side: ``%load_ext jupyter_spark_broker.kernel`` gives ``%%spark`` and ``%spark`` in IPython.

Talks only to the broker's REST API; imports nothing server-side (no tornado, no SQLAlchemy).
"""

from __future__ import annotations


def load_ipython_extension(ipython) -> None:
    from .magics import SparkMagics

    ipython.register_magics(SparkMagics(ipython))


def unload_ipython_extension(ipython) -> None:
    magics = ipython.magics_manager.registry.get("SparkMagics")
    if magics is not None and magics._client is not None:
        magics._client.close()
