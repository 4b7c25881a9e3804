"""Installing the wrapper kernels' specs: ``jupyter spark-broker install-kernels``.

``pip install`` already puts them in ``{sys.prefix}/share/jupyter/kernels`` (hatch shared-data); this is
for other places: a user's own kernels, or a prefix another Jupyter reads.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

from .settings import PROFILE_ENV

KERNELSPECS = Path(__file__).parent / "kernelspecs"
# The wrapper kernels' classes (``wrapper.py``) and the Livy kind of their sessions: the server offers
# a kernel only where some endpoint runs its kind, reading the class from its kernelspec's argv.
KERNEL_CLASS_OPTION = "--IPKernelApp.kernel_class=jupyter_spark_broker.kernel.wrapper."
KINDS_OF_KERNEL_CLASSES = {
    "PySparkKernel": "pyspark",
    "SparkKernel": "spark",
    "SparkRKernel": "sparkr",
}
# As the broker's profile names (``profiles.py``, not imported: the kernel side stays server-free).
PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def install_kernels(
    *, user: bool = False, prefix: str | None = None, profile: str | None = None
) -> list[tuple[str, str]]:
    """Install every wrapper kernel; returns (kernel name, where) pairs.

    Without ``user`` or ``prefix`` they go into this Python's own prefix. The installed specs start
    this very interpreter, so they work from a Jupyter that runs in another environment. With
    ``profile``, each is a kernel of that broker profile: ``pyspark_broker_<profile>``, shown as
    "PySpark (broker) – <profile>", whose sessions start with that profile.
    """
    if not user and prefix is None:
        prefix = sys.prefix
    if profile is not None and not PROFILE_NAME.match(profile):
        raise ValueError(f"profile name {profile!r}: letters, digits, '_', '.' and '-' only")
    installed = []
    for source in sorted(p for p in KERNELSPECS.iterdir() if (p / "kernel.json").is_file()):
        name = source.name if profile is None else f"{source.name}_{profile.lower()}"
        with tempfile.TemporaryDirectory() as staging:
            spec_dir = Path(shutil.copytree(source, Path(staging) / name))
            spec = json.loads((spec_dir / "kernel.json").read_text())
            spec["argv"][0] = sys.executable
            if profile is not None:
                spec["display_name"] = f"{spec['display_name']} \u2013 {profile}"
                spec["env"] = {**spec.get("env", {}), PROFILE_ENV: profile}
            (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=2) + "\n")
            where = KernelSpecManager().install_kernel_spec(
                str(spec_dir), name, user=user, prefix=prefix
            )
        installed.append((name, where))
    return installed
