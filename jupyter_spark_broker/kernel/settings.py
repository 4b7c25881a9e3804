"""Where the broker is and which notebook this kernel belongs to.

Inside Jupyter nothing needs configuring: the broker extension puts ``SPARK_BROKER_URL`` and
``SPARK_BROKER_TOKEN`` in the environment of the server, which kernels inherit, and jupyter_server sets
``JPY_SESSION_NAME`` to the notebook's path. A kernel without it is a headless run (``headless.py``).
Outside Jupyter (a CI job), set the first two yourself.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .headless import HeadlessRun, this_run

URL_ENV = "SPARK_BROKER_URL"
TOKEN_ENV = "SPARK_BROKER_TOKEN"  # noqa: S105 - the name of a variable, not a secret
PATH_ENV = "JPY_SESSION_NAME"
ENDPOINT_ENV = "SPARK_BROKER_ENDPOINT"
# Set by a kernel installed with ``install-kernels --profile NAME``: its sessions use that profile.
PROFILE_ENV = "SPARK_BROKER_PROFILE"


class NotConfigured(RuntimeError):
    """Says which variable is missing and what it should hold."""


@dataclass(frozen=True)
class KernelSettings:
    url: str  # the Jupyter server's URL, base_url included
    token: str
    notebook_path: str
    kernel_id: str | None
    endpoint: str | None
    profile: str | None = None
    run: HeadlessRun | None = None  # a kernel no Jupyter session started: it attaches as a run

    @classmethod
    def from_environment(cls) -> KernelSettings:
        url = os.environ.get(URL_ENV, "")
        if not url:
            raise NotConfigured(
                f"Spark broker not found: {URL_ENV} is not set. Inside Jupyter the broker extension sets "
                f"it; elsewhere set {URL_ENV} to the Jupyter server's URL (with its base_url) and "
                f"{TOKEN_ENV} to its token."
            )
        kernel_id = _kernel_id()
        profile = os.environ.get(PROFILE_ENV) or None
        path = os.environ.get(PATH_ENV, "")
        run = None if path else this_run(kernel_id)
        if run is not None:
            path = run.label
            profile = profile or run.profile()  # the kernelspec's profile first, as in Jupyter
        return cls(
            url=url if url.endswith("/") else url + "/",
            token=os.environ.get(TOKEN_ENV, ""),
            notebook_path=path,
            kernel_id=kernel_id,
            endpoint=os.environ.get(ENDPOINT_ENV) or None,
            profile=profile,
            run=run,
        )


def _kernel_id() -> str | None:
    """jupyter_server names connection files ``kernel-<id>.json``."""
    try:
        from ipykernel.connect import get_connection_file

        found = re.search(r"kernel-([0-9a-f-]{36})\.json$", get_connection_file())
    except Exception:  # not in an ipykernel (a plain ipython)
        return None
    return found.group(1) if found else None
