"""The local Livy's routes: Livy's paths to their handlers (the REST API's and the UI's)."""

from __future__ import annotations

import tornado.web

from ..config import LocalLivyConfig
from ..sessions import SessionManager
from .handlers import (
    CompletionHandler,
    ConnectHandler,
    InterruptHandler,
    NotFoundHandler,
    SessionHandler,
    SessionLogHandler,
    SessionsHandler,
    SessionStateHandler,
    StatementCancelHandler,
    StatementHandler,
    StatementsHandler,
    StopHandler,
    VersionHandler,
)
from .spnego import SpnegoFilter
from .ui import RootHandler, UiHandler


def make_app(manager: SessionManager, config: LocalLivyConfig) -> tornado.web.Application:
    kerberos = None
    if config.kerberos_principal and config.kerberos_keytab:
        kerberos = SpnegoFilter(
            config.kerberos_principal, config.kerberos_keytab, config.auth_token_validity
        )
    args = {"manager": manager, "config": config, "kerberos": kerberos}
    session = r"/sessions/([^/]+)"
    statement = session + r"/statements/([^/]+)"
    routes = [
        (r"/", RootHandler),
        (r"/ui/?", UiHandler),
        (r"/version/?", VersionHandler),
        (r"/sessions/?", SessionsHandler),
        (session + r"/?", SessionHandler),
        (session + r"/state", SessionStateHandler),
        (session + r"/log", SessionLogHandler),
        (session + r"/statements/?", StatementsHandler),
        (statement + r"/?", StatementHandler),
        (statement + r"/cancel", StatementCancelHandler),
        (session + r"/completion", CompletionHandler),
        (session + r"/connect", ConnectHandler),
        (session + r"/stop", StopHandler),
        (session + r"/interrupt", InterruptHandler),
    ]
    return tornado.web.Application(
        [(path, handler, args) for path, handler in routes],
        default_handler_class=NotFoundHandler,
        default_handler_args=args,
    )
