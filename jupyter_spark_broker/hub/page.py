"""The operators' page: every user's sessions in one table, each with its kill button."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from ..registry.orm import utcnow
from ..registry.records import SessionRecord

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; }
table { border-collapse: collapse; }
th, td { padding: 0.3em 0.8em; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
td.notebooks { font-family: monospace; font-size: 90%; }
"""


def render_sessions_page(
    sessions: list[SessionRecord],
    notebooks: dict[str, list[str]],
    *,
    operator: str,
    base: str,
    show_all: bool,
    xsrf_form: str,
) -> str:
    now = utcnow()
    rows = "\n".join(
        _row(record, notebooks.get(record.id, []), now, base, xsrf_form) for record in sessions
    )
    other_view = (
        f'<a href="{escape(base)}">live sessions only</a>'
        if show_all
        else f'<a href="{escape(base)}?all=1">finished sessions too</a>'
    )
    empty = "" if sessions else "<p>No Spark sessions.</p>"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Spark sessions</title><style>{STYLE}</style></head>
<body>
<h1>Spark sessions of every user</h1>
<p>Signed in as {escape(operator)} · {other_view}</p>
<table>
<thead><tr><th>Owner</th><th>Notebooks</th><th>Endpoint</th><th>Profile</th><th>State</th>
<th>Age</th><th>Idle</th><th>Id</th><th></th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
{empty}
</body></html>
"""


def _row(record: SessionRecord, paths: list[str], now: datetime, base: str, xsrf_form: str) -> str:
    kill = ""
    if not record.is_finished:
        action = escape(f"{base}sessions/{record.id}/kill")
        kill = (
            f'<form method="post" action="{action}">{xsrf_form}'
            f'<button type="submit">Kill</button></form>'
        )
    cells = [
        escape(record.owner),
        "<br>".join(escape(path) for path in sorted(paths)) or "-",
        escape(record.endpoint),
        escape(record.profile or "default"),
        escape(record.state),
        _duration(now - record.created),
        _duration(now - record.last_activity),
        f"<code>{escape(record.id[:8])}</code>",
        kill,
    ]
    classes = ["owner", "notebooks", "endpoint", "profile", "state", "age", "idle", "id", "kill"]
    tds = "".join(f'<td class="{c}">{v}</td>' for c, v in zip(classes, cells, strict=True))
    return f'<tr data-session="{escape(record.id)}">{tds}</tr>'


def _duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"
