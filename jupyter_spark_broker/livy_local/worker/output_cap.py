"""Cut statement output to a size the server's reader takes, with a marker the user sees.

Livy keeps whatever a statement returns; here one JSON line carries it from the worker to the server, so
each string is cut past ``limit`` characters and an output still too big once encoded (many values, long
lists) is replaced by a note: output always arrives, whole or visibly cut.
"""

from __future__ import annotations

import json
from typing import Any

CUT_MARKER = "[output cut by the local Livy"


def _cut_note(kept: int, total: int) -> str:
    return f"{CUT_MARKER}: {kept:,} of {total:,} characters shown (its --max-output)]"


def _cap_strings(value: Any, limit: int) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "\n" + _cut_note(limit, len(value))
    if isinstance(value, dict):
        return {key: _cap_strings(item, limit) for key, item in value.items()}
    if isinstance(value, list):
        return [_cap_strings(item, limit) for item in value]
    return value


def cap_output(output: dict[str, Any] | None, limit: int) -> dict[str, Any] | None:
    if output is None:
        return None
    capped = _cap_strings(output, limit)
    encoded = len(json.dumps(capped, default=str))
    if encoded <= 6 * limit:
        return capped
    note = f"{CUT_MARKER}: the output took {encoded:,} characters once encoded (its --max-output)]"
    if capped.get("status") == "error":
        return {**capped, "evalue": str(capped.get("evalue", ""))[:limit], "traceback": [note]}
    return {**capped, "data": {"text/plain": note}}
