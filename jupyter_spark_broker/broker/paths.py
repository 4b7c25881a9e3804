"""One normal form for notebook paths, the notebook share key.

jupyter_server gives kernels ``JPY_SESSION_NAME`` as an absolute filesystem path, while its sessions API
and ``/reconnectsparkmagic`` use paths relative to the server's root dir. Both become the relative,
'/'-separated form here; a path outside the root dir stays absolute. Imports nothing server-side: the
kernel side uses it too.
"""

from __future__ import annotations

import posixpath
from pathlib import PurePosixPath


def normalise_notebook_path(path: str, root_dir: str | None = None) -> str:
    """The share-key form of a notebook path.

    With root ``/srv/root``: ``/srv/root/dir/k.ipynb``, ``dir/k.ipynb`` and ``/dir/./k.ipynb`` all give
    ``dir/k.ipynb``.
    """
    raw = path.strip().replace("\\", "/")
    if not raw:
        raise ValueError("the notebook path is empty")
    if root_dir:
        root = posixpath.normpath(root_dir.replace("\\", "/"))
        candidate = posixpath.normpath(raw)
        if candidate == root or candidate.startswith(root.rstrip("/") + "/"):
            return _relative(posixpath.relpath(candidate, root))
    if raw.startswith("/") and root_dir:
        # Absolute, but not under the root: the API form "/dir/k.ipynb" is relative to the root.
        return _relative(raw.lstrip("/"))
    return _relative(raw) if not raw.startswith("/") else posixpath.normpath(raw)


def run_notebook_label(path: str, root_dir: str | None = None) -> str:
    """The notebook a headless run runs, as the run knows it: relative under the root dir, like an
    interactive notebook's, else absolute (a run may execute a notebook anywhere on its host)."""
    raw = path.strip().replace("\\", "/")
    if raw.startswith("/") and root_dir:
        root = posixpath.normpath(root_dir.replace("\\", "/")).rstrip("/") + "/"
        if not posixpath.normpath(raw).startswith(root):
            return posixpath.normpath(raw)
    return normalise_notebook_path(raw, root_dir)


def _relative(path: str) -> str:
    normal = posixpath.normpath(path.lstrip("/"))
    if normal in (".", "") or normal == ".." or normal.startswith("../"):
        raise ValueError(f"the notebook path {path!r} leaves the server's root dir")
    return str(PurePosixPath(normal))
