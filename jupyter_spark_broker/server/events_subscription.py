"""``/api/events/subscribe`` with the broker's events scoped to their owner.

jupyter_server's subscribe websocket sends every event on the bus to every subscriber, so on a server
of several users each would see everyone's sessions, notebooks and kills. The extension serves that
same path with this subclass (an extension's handlers come before the server's defaults in tornado's
rules): events of this package's schemas reach their session's owner and admin users only; jupyter_server's
own kernel and contents events reach those its authorizer lets read kernels or contents (as
``GET /api/kernels`` would); every other event passes as before. So JupyterLab's own event manager,
unchanged, is the panel's live feed.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, cast

from jupyter_core.utils import ensure_async
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.services.events.handlers import SubscribeWebsocket

from ..broker.users import broker_user, hub_user_model
from ..events.emitter import BASE_ID, SUBSCRIBED

if TYPE_CHECKING:
    from .extension import BrokerExtension

SUBSCRIBE_PATH = r"api/events/subscribe"
# jupyter_server's events about what its authorizer guards (kernel ids, file paths), by schema
# (any version), and the resource a subscriber must be allowed to read to get them.
_SERVER_EVENTS = "https://events.jupyter.org/jupyter_server/"
GUARDED_EVENTS = {
    f"{_SERVER_EVENTS}kernel_actions/": "kernels",
    f"{_SERVER_EVENTS}gateway_client/": "kernels",
    f"{_SERVER_EVENTS}contents_service/": "contents",
}


class ScopedSubscribeWebsocket(ExtensionHandlerMixin, SubscribeWebsocket):
    _subscriber: str | None = None
    _admin = False
    _may_read: dict[str, bool] | None = None  # the authorizer's answer, by resource

    def open(self, *args: Any, **kwargs: Any) -> None:
        self._subscriber = broker_user(self.identity_provider, self.current_user)
        broker_app = cast("BrokerExtension", self.extensionapp)  # typed as any extension's
        hub_user = hub_user_model(self.current_user)
        if hub_user is not None:
            broker_app.broker.owners.hub_says(self._subscriber, hub_user)
        self._admin = broker_app.broker.is_admin(self._subscriber)
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

    async def visible(self, schema_id: str, data: dict[str, Any]) -> bool:
        guarded = next((r for s, r in GUARDED_EVENTS.items() if schema_id.startswith(s)), None)
        if guarded is not None:
            return await self._may_read_resource(guarded)
        if not schema_id.startswith(BASE_ID + "/") or self._admin:
            return True
        return data.get("owner") == self._subscriber

    async def _may_read_resource(self, resource: str) -> bool:
        if self._may_read is None:
            self._may_read = {}
        if resource not in self._may_read:
            allowed = self.authorizer.is_authorized(self, self.current_user, "read", resource)
            self._may_read[resource] = bool(await ensure_async(allowed))
        return self._may_read[resource]

    async def event_listener(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        if await self.visible(schema_id, data):
            await super().event_listener(logger, schema_id, data)
