"""Spark Connect: servers the broker runs itself (one Spark application per user and profile, one
Connect session per notebook) and Connect servers run elsewhere."""

from .address import (
    ConnectAddress,
    ConnectUrlError,
    RemoteConnectEndpoint,
    connect_user_id,
    new_session_id,
    parse_connect_url,
)
from .manager import (
    DEFAULT_PROFILE,
    ConnectServerInfo,
    ConnectServerManager,
    ConnectSessionGrant,
    ServerHealth,
)
from .process import ConnectServerProcess, ConnectServerStartError
from .rpc import ConnectRpc, ConnectRpcError, ConnectUnauthenticated, ConnectUnreachable

__all__ = [
    "DEFAULT_PROFILE",
    "ConnectAddress",
    "ConnectRpc",
    "ConnectRpcError",
    "ConnectServerInfo",
    "ConnectServerManager",
    "ConnectServerProcess",
    "ConnectServerStartError",
    "ConnectSessionGrant",
    "ConnectUnauthenticated",
    "ConnectUnreachable",
    "ConnectUrlError",
    "RemoteConnectEndpoint",
    "ServerHealth",
    "connect_user_id",
    "new_session_id",
    "parse_connect_url",
]
