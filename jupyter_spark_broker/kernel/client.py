"""The thin client: this kernel's view of the broker's REST API. Never talks to Livy, never holds
Livy credentials, imports nothing server-side."""

from __future__ import annotations

import atexit
import contextlib
import time
from typing import Any
from urllib.parse import quote, urljoin

import httpx

from .beats import RunBeats
from .settings import KernelSettings

API = "spark-broker/api/"
# Each long-poll asks the broker to wait this long; the client repeats it until the statement ends.
LONG_POLL = 30.0
COMPLETION_TIMEOUT = 3.0
UI_TIMEOUT = 2.0
UI_BACKOFF = 5.0


class BrokerUnavailable(RuntimeError):
    pass


class BrokerRefused(RuntimeError):
    def __init__(self, status: int, message: str, reason: str | None):
        super().__init__(message)
        self.status = status
        self.reason = reason


class BrokerClient:
    def __init__(self, settings: KernelSettings, *, transport: httpx.BaseTransport | None = None):
        self.settings = settings
        headers = {"Authorization": f"token {settings.token}"} if settings.token else {}
        self._http = httpx.Client(
            base_url=settings.url + API,
            headers=headers,
            timeout=httpx.Timeout(10.0, read=LONG_POLL + 30.0),
            transport=transport,
        )
        # The broker session this notebook is attached to, and the attachment that binds them.
        self.session: dict[str, Any] | None = None
        self.attachment_id: str | None = None
        # The profile of new sessions: the kernel's, or %spark profile's; None lets the broker pick.
        self.profile: str | None = settings.profile
        # The endpoint of new sessions: the kernel's, or %spark endpoint's; None lets the broker pick.
        self.endpoint: str | None = settings.endpoint
        self._ui_quiet_until = 0.0
        # A headless run (settings.run) beats while it lives and ends its session as it exits.
        self._beats: RunBeats | None = None
        if settings.run is not None:
            self._beats = RunBeats(settings.url + API, headers)
            atexit.register(self.end_run)

    def close(self) -> None:
        self._http.close()

    # -- sessions -------------------------------------------------------------------------------

    def attach(
        self,
        *,
        kind: str | None = None,
        name: str | None = None,
        create: bool = False,
        session_id: str | None = None,
        protocol: str | None = None,
        **settings: Any,
    ) -> dict:
        """The notebook's session, get-or-create; by ``name`` only an existing one (a 404 names
        the ``--create`` way) unless ``create``."""
        body: dict[str, Any] = {"path": self.settings.notebook_path}
        if protocol:
            body["protocol"] = protocol
        if self.settings.kernel_id:
            body["kernel_id"] = self.settings.kernel_id
        if self.endpoint:
            body["endpoint"] = self.endpoint
        if self.profile:
            body["profile"] = self.profile
        if kind:
            body["kind"] = kind
        if name:
            body["name"] = name
        if create:
            body["create"] = True
        if session_id:
            body["session"] = session_id
        if settings:
            body["settings"] = settings
        if self.settings.run is not None:
            body["run"] = self.settings.run.name
        response = self._send("POST", "attachments", json=body)
        reply = response.json()
        reply["created"] = response.status_code == 201  # 200: a live session was re-used
        self.session = reply["session"]
        self.attachment_id = reply["id"]
        if self._beats is not None and reply.get("beat_interval"):
            self._beats.follow(reply["id"], reply["beat_interval"])
        return reply

    def end_run(self) -> None:
        """A headless run ends (its kernel exits): detach, which ends the run's own session; a
        session it only joined stays. Best effort: a kernel killed outright stops beating instead."""
        if self._beats is not None:
            self._beats.stop()
        # Unanswered: the broker ends the session once the beats stop.
        with contextlib.suppress(BrokerUnavailable, BrokerRefused):
            self.detach()

    def detach(self) -> None:
        if self.attachment_id is not None:
            self.delete_attachment(self.attachment_id)
        self.forget()

    def delete_attachment(self, attachment_id: str) -> None:
        try:
            self._request("DELETE", f"attachments/{attachment_id}")
        except BrokerRefused as error:
            if error.status != 404:  # 404: it ended already, with its session
                raise

    def forget(self) -> None:
        """Drop the session and its attachment together (the broker keeps both): the next Spark
        cell attaches again."""
        self.session = self.attachment_id = None

    # -- endpoints ------------------------------------------------------------------------------

    def endpoints(self) -> dict:
        """``{"endpoints": [...], "default": name}``: those this user may use, without secrets."""
        return self._request("GET", "endpoints")

    def add_endpoint(self, url: str, **fields: str) -> dict:
        """Register this user's own endpoint with the broker, which keeps the credentials: the
        password goes in this one request and is kept nowhere in the kernel."""
        response = self._send("POST", "endpoints", json={"url": url, **fields})
        reply = response.json()
        reply["created"] = response.status_code == 201
        return reply

    def delete_endpoint(self, name: str) -> None:
        self._request("DELETE", f"endpoints/{quote(name, safe='')}")

    def profiles(self) -> list[dict]:
        return self._request("GET", "profiles")["profiles"]

    def sessions(self, path: str | None = None, *, mine: bool = False) -> list[dict]:
        params: dict[str, Any] = {"limit": 1000, "mine": mine} | ({"path": path} if path else {})
        return self._request("GET", "sessions", params=params)["sessions"]

    def notebooks(self) -> dict[str, list[str]]:
        """The notebooks attached to each session (of this user; an admin's: all), by session id."""
        attached: dict[str, list[str]] = {}
        for attachment in self._request("GET", "attachments", params={"limit": 1000})[
            "attachments"
        ]:
            attached.setdefault(attachment["session_id"], []).append(attachment["path"])
        return attached

    def describe(self, session_id: str) -> dict:
        return self._request("GET", f"sessions/{session_id}")

    def kill(self, session_id: str) -> None:
        self._request("DELETE", f"sessions/{session_id}")

    def connect_url(self, session_id: str) -> str:
        """A Connect session's ``sc://`` URL, its token inside: hand it to pyspark, never print it."""
        return self._request("GET", f"sessions/{session_id}/connect")["url"]

    def log(self, session_id: str, size: int = 100) -> list[str]:
        return self._request("GET", f"sessions/{session_id}/log", params={"size": size})["log"]

    # -- statements -----------------------------------------------------------------------------

    def submit(self, session_id: str, code: str, kind: str | None = None) -> dict:
        """Returns at once (no ``?wait``): an interrupt must find the statement id in hand to cancel."""
        body = {"code": code} | ({"kind": kind} if kind else {})
        while True:  # the broker answers 409 session_starting after a bounded hold: send again
            try:
                return self._request("POST", f"sessions/{session_id}/statements", json=body)
            except BrokerRefused as refused:
                if refused.status != 409 or refused.reason != "session_starting":
                    raise
            time.sleep(1.0)

    def wait(self, session_id: str, statement_id: int, wait: float = LONG_POLL) -> dict:
        """The statement once finished, or as it stands after ``wait`` seconds."""
        return self._request(
            "GET", f"sessions/{session_id}/statements/{statement_id}", params={"wait": wait}
        )

    def complete(self, session_id: str, code: str, cursor: int, kind: str | None) -> list[str]:
        """The remote interpreter's candidates; quick or not at all, since a Tab key waits on it."""
        body = {"code": code, "cursor": cursor} | ({"kind": kind} if kind else {})
        reply = self._request(
            "POST", f"sessions/{session_id}/completion", json=body, timeout=COMPLETION_TIMEOUT
        )
        return reply["candidates"]

    def cancel(self, session_id: str, statement_id: int) -> None:
        self._request("POST", f"sessions/{session_id}/statements/{statement_id}/cancel")

    def spark_ui(self, session: dict, path: str, **params: Any) -> Any:
        """JSON of the Spark UI's REST API (``api/v1/...``) through the broker's proxy, which only
        the embedded Livy's sessions have (their ``spark_ui_url`` is the proxy's path); else None.
        Quick or not at all: it only decorates a progress line."""
        ui = session.get("spark_ui_url") or ""
        if not ui.startswith("/") or time.monotonic() < self._ui_quiet_until:
            return None
        try:
            response = self._http.get(
                urljoin(self.settings.url, ui + path), params=params, timeout=UI_TIMEOUT
            )
        except httpx.TransportError:  # a UI still starting up, or gone: ask again later
            self._ui_quiet_until = time.monotonic() + UI_BACKOFF
            return None
        return response.json() if response.status_code == 200 else None

    # -- transport ------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        return response.json() if response.content else None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise BrokerUnavailable(
                f"The Spark broker at {self.settings.url} does not answer ({error}). "
                "Is the Jupyter server running?"
            ) from None
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"message": response.text[:300], "reason": None}
            raise BrokerRefused(response.status_code, body.get("message", ""), body.get("reason"))
        return response
