"""``/api/events/subscribe`` with the broker's events scoped to their owner.

jupyter_server's subscribe websocket sends every event on the bus to every subscriber, so on a server
of several users each would see everyone's sessions, notebooks and kills. The extension serves that
same path with this subclass (an extension's handlers come before the server's defaults in tornado's
rules): events of this package's schemas reach their session's owner and admin users only; every other
event passes as before. So JupyterLab's own event manager, unchanged, is the panel's live feed.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.services.events.handlers import SubscribeWebsocket

from ..users import broker_user
from .emitter import BASE_ID, SUBSCRIBED

SUBSCRIBE_PATH = r"api/events/subscribe"


class ScopedSubscribeWebsocket(ExtensionHandlerMixin, SubscribeWebsocket):
    _subscriber: str | None = None
    _admin = False

    def open(self, *args: Any, **kwargs: Any) -> None:
        self._subscriber = broker_user(self.identity_provider, self.current_user)
        self._admin = self.extensionapp.broker.is_admin(self._subscriber)
        super().open(*args, **kwargs)
        # A (re)connected client may have missed events: this tells it to refresh once.
        self.write_message(
            json.dumps(
                {
                    "schema_id": SUBSCRIBED,
                    "__schema__": SUBSCRIBED,
                    "__schema_version__": 1,
                    "__timestamp__": datetime.now(timezone.utc).replace(tzinfo=None).isoformat()
                    + "Z",
                    "user": self._subscriber,
                    "admin": self._admin,
                }
            )
        )

    def visible(self, schema_id: str, data: dict[str, Any]) -> bool:
        if not schema_id.startswith(BASE_ID + "/") or self._admin:
            return True
        return data.get("owner") == self._subscriber

    async def event_listener(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        if self.visible(schema_id, data):
            await super().event_listener(logger, schema_id, data)
