"""Installing the wrapper kernels' specs: ``jupyter spark-broker install-kernels``.

``pip install`` already puts them in ``{sys.prefix}/share/jupyter/kernels`` (hatch shared-data); this is
for other places: a user's own kernels, or a prefix another Jupyter reads.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

KERNELSPECS = Path(__file__).parent / "kernelspecs"


def install_kernels(*, user: bool = False, prefix: str | None = None) -> list[tuple[str, str]]:
    """Install every wrapper kernel; returns (kernel name, where) pairs.

    Without ``user`` or ``prefix`` they go into this Python's own prefix. The installed specs start
    this very interpreter, so they work from a Jupyter that runs in another environment.
    """
    if not user and prefix is None:
        prefix = sys.prefix
    installed = []
    for source in sorted(p for p in KERNELSPECS.iterdir() if (p / "kernel.json").is_file()):
        with tempfile.TemporaryDirectory() as staging:
            spec_dir = Path(shutil.copytree(source, Path(staging) / source.name))
            spec = json.loads((spec_dir / "kernel.json").read_text())
            spec["argv"][0] = sys.executable
            (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=2) + "\n")
            where = KernelSpecManager().install_kernel_spec(
                str(spec_dir), source.name, user=user, prefix=prefix
            )
        installed.append((source.name, where))
    return installed
