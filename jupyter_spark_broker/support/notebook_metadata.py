"""What a notebook's metadata tells the broker: the profile it names. Read by the server (from the
contents manager's model) and by a headless run's kernel (from the notebook file it runs)."""

from __future__ import annotations

import json
from typing import Any

# Where a notebook names its profile: {"metadata": {"spark_broker": {"profile": "small"}}}.
METADATA_KEY = "spark_broker"


def profile_in_metadata(notebook: Any) -> str | None:
    """The profile a notebook (its JSON text, or the parsed notebook) names, if any."""
    if isinstance(notebook, str):
        try:
            notebook = json.loads(notebook)
        except ValueError:
            return None
    metadata = notebook.get("metadata") if isinstance(notebook, dict) else None
    section = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    profile = section.get("profile") if isinstance(section, dict) else None
    return profile if isinstance(profile, str) and profile else None
