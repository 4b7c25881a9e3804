"""``/reconnectsparkmagic``: point a notebook at a Livy endpoint, sparkmagic's contract done right.

Unlike sparkmagic 0.23 it awaits jupyter_server 2's coroutines, keeps the credentials on the server (the
kernel only ever learns the broker's URL), names the Jupyter session, and binds the notebook to a Livy
session through the broker, so reconnecting to the endpoint already in use keeps the Spark state.

It acts on the server's Jupyter sessions and kernels for the caller, so it first asks the server's
authorizer what jupyter_server's own handlers would (``POST /api/sessions``, a kernel restart), and
leaves alone a notebook whose kernel another user's notebook is attached to.
"""

from __future__ import annotations

import posixpath
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from jupyter_core.utils import ensure_async
from pydantic import SecretStr

from ..broker.broker import SparkBroker
from ..broker.endpoints import EndpointConfig
from ..broker.errors import Forbidden, InvalidRequest
from ..broker.users import SERVER_OWNER
from .models import Reconnect
from .request_guards import check_request_auth

# May the caller do ``action`` on ``resource``? The server's authorizer, asked for the caller.
MayDo = Callable[[str, str], Awaitable[bool]]

# What the reconnect does to the server's objects, as jupyter_server's authorizer names it: find the
# notebook's Jupyter session, replace or start one, restart or start its kernel.
NEEDED = (("read", "sessions"), ("write", "sessions"), ("write", "kernels"))


@dataclass(frozen=True)
class Reconnected:
    endpoint: str
    session_id: str
    kernel_id: str
    kept_session: bool


class NotebookReconnector:
    def __init__(
        self,
        broker: SparkBroker,
        session_manager: Any,
        kernel_manager: Any,
        kernel_spec_manager: Any,
        may: MayDo,
    ):
        self.may = may
        self.broker = broker
        self.session_manager = session_manager
        self.kernel_manager = kernel_manager
        self.kernel_spec_manager = kernel_spec_manager

    async def reconnect(
        self, user: str, request: Reconnect, *, path: str, kernel_name: str
    ) -> Reconnected:
        # Asked before anything changes: a refused call leaves endpoints and bindings as they were.
        await self._check_allowed(user, path)
        if not await self._kernel_installed(kernel_name):
            specs = await ensure_async(self.kernel_spec_manager.get_all_specs())
            raise InvalidRequest(
                f"kernelname: no kernel named {kernel_name!r}; installed: {', '.join(sorted(specs))}",
                reason="invalid_field",
            )
        endpoint, added, replaced = await self._endpoint_for(user, request)
        try:
            attached = await self.broker.attach(user, path=path, endpoint=endpoint)
        except BaseException:
            # Nothing changes on failure: the notebook keeps its binding, an endpoint this call
            # added is not kept (nor reloaded at every restart), one it replaced gets its old
            # settings back.
            if added:
                await self.broker.delete_endpoint(user, endpoint)
            elif replaced is not None:
                await self.broker.put_endpoint(endpoint, replaced, user)
            raise
        # Bound only once a session is there. The notebook now belongs to this endpoint: its
        # attachments elsewhere end. Another user's notebook at this path is theirs.
        await self.broker.bind(user, path, endpoint)
        await self.broker.detach_elsewhere(user, path, attached.session.id)
        kernel_id = await self._start_or_restart_kernel(path, kernel_name)
        self.broker.events.reconnected(attached.session, actor=user, path=path, kernel_id=kernel_id)
        return Reconnected(
            endpoint, attached.session.id, kernel_id, kept_session=not attached.created
        )

    async def _check_allowed(self, user: str, path: str) -> None:
        for action, resource in NEEDED:
            if not await self.may(action, resource):
                raise Forbidden(
                    f"/reconnectsparkmagic restarts or starts the notebook's kernel: this server "
                    f"does not let {user!r} {action} {resource}",
                    reason="not_authorized",
                )
        current = await self._jupyter_session(path)
        if current is None or self.broker.is_admin(user):
            return
        kernel_id = current["kernel"]["id"]
        attached, _ = await self.broker.registry.attachments(path=path)
        if any(a.kernel_id == kernel_id and a.owner != user for a in attached):
            raise Forbidden(
                f"the kernel of notebook {path!r} is another user's (their notebook is attached "
                "to Spark through it); it is left alone",
                reason="notebook_forbidden",
            )

    async def _jupyter_session(self, path: str) -> dict[str, Any] | None:
        sessions = await ensure_async(self.session_manager.list_sessions())
        return next((s for s in sessions if _session_path(s) == path), None)

    async def _kernel_installed(self, name: str) -> bool:
        """By name, not from the launcher's listing, which leaves out the broker's kernels of kinds
        no endpoint runs yet (kernel_offer.py): the endpoint this call adds may run it."""
        try:
            return await ensure_async(self.kernel_spec_manager.get_kernel_spec(name)) is not None
        except KeyError:  # jupyter_client's NoSuchKernel
            return False

    async def _endpoint_for(
        self, user: str, request: Reconnect
    ) -> tuple[str, bool, EndpointConfig | None]:
        """An endpoint of this URL that ``user`` may use, if no other credentials are asked for;
        else a run-time endpoint of ``user``'s own. With it, for a failure to undo: whether this
        call added it, and the settings this call replaced."""
        endpoints = self.broker.endpoints
        check_request_auth(request.auth_type, endpoints.authenticators)
        known = endpoints.find_by_url(request.endpoint, user)
        if known is not None:
            config = endpoints.settings_of(known)
            asks_other_credentials = (request.username or request.password) and (
                request.auth_type != config.auth
                or request.username != config.username
                # a new password for the user's own run-time endpoint replaces the old one
                or (
                    endpoints.owner_of_runtime(known) == user
                    and request.password != config.password_value()
                )
            )
            if not asks_other_credentials:
                return known, False, None
        name = f"{request.username}@{request.endpoint}" if request.username else request.endpoint
        if user != SERVER_OWNER:  # on a server of several users, each has their own names
            name = f"{user}:{name}"
        await endpoints.check_runtime_url(request.endpoint)
        replaced = endpoints.settings_of(name) if name in endpoints.names() else None
        await self.broker.put_endpoint(
            name,
            EndpointConfig(
                url=request.endpoint,
                auth=request.auth_type,
                username=request.username,
                password=SecretStr(request.password),
                description="added by /reconnectsparkmagic",
            ),
            user,
        )
        return name, replaced is None, replaced

    async def _start_or_restart_kernel(self, path: str, kernel_name: str) -> str:
        """sparkmagic's rules: same kernel -> restart it; other kernel -> replace the session; none -> new."""
        current = await self._jupyter_session(path)
        if current is not None and current["kernel"]["name"] == kernel_name:
            await ensure_async(self.kernel_manager.restart_kernel(current["kernel"]["id"]))
            return current["kernel"]["id"]
        if current is not None:
            await ensure_async(self.session_manager.delete_session(current["id"]))
        model = await ensure_async(
            self.session_manager.create_session(
                path=path, name=posixpath.basename(path), type="notebook", kernel_name=kernel_name
            )
        )
        return model["kernel"]["id"]


def _session_path(session: dict[str, Any]) -> str | None:
    return session.get("path") or (session.get("notebook") or {}).get("path")
