"""``GET /`` and ``GET /ui``: Apache Livy redirects its root to its web UI, and Livy clients use
``GET /`` as their "is Livy up" probe, so the local Livy answers both the same way."""

from __future__ import annotations

import html

from .handlers import LivyHandler


class RootHandler(LivyHandler):
    def get(self) -> None:
        # Jetty's redirect, as Livy sends it: 302, an absolute Location, an empty HTML body.
        self.set_header("Content-Type", "text/html;charset=utf-8")
        self.set_header("Location", f"{self.request.protocol}://{self.request.host}/ui")
        self.set_status(302)
        self.finish()


class UiHandler(LivyHandler):
    def get(self) -> None:
        rows = "".join(
            f"<tr><td>{session.id}</td><td>{html.escape(session.name or '')}</td>"
            f"<td>{session.kind}</td><td>{session.state}</td></tr>"
            for session in self.manager.sessions.values()
        )
        self.set_header("Content-Type", "text/html;charset=utf-8")
        self.finish(
            "<!DOCTYPE html><html><head><title>Livy (local)</title></head><body>"
            "<h1>Livy (local)</h1><table><tr><th>id</th><th>name</th><th>kind</th>"
            f"<th>state</th></tr>{rows}</table></body></html>"
        )
