"""A headless run's kernel beats while it lives: no Jupyter server knows it, so the broker learns it
is gone (killed outright, its host lost) only from the beats stopping, and then ends the run's session.

A daemon thread with an HTTP client of its own, so a beat never waits on a cell's long-poll.
"""

from __future__ import annotations

import threading

import httpx


class RunBeats:
    def __init__(self, base_url: str, headers: dict[str, str]):
        self._base_url, self._headers = base_url, headers
        self._attachment_id: str | None = None
        self._interval = 0.0
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def follow(self, attachment_id: str, interval: float) -> None:
        """Beat for this attachment (a new one replaces the last) every ``interval`` seconds."""
        self._attachment_id, self._interval = attachment_id, interval
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._beat, name="spark-broker-beats", daemon=True
            )
            self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()

    def _beat(self) -> None:
        with httpx.Client(base_url=self._base_url, headers=self._headers, timeout=10.0) as http:
            while not self._stopped.is_set():
                attachment_id = self._attachment_id
                if attachment_id is not None:
                    try:
                        response = http.post(f"attachments/{attachment_id}/beat")
                    except httpx.TransportError:
                        pass  # the server restarts, say: beat again next time
                    else:
                        if response.status_code == 404 and self._attachment_id == attachment_id:
                            self._attachment_id = None  # ended: nothing to beat for until attached
                self._wake.wait(self._interval)
                self._wake.clear()
