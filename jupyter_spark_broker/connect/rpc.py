"""The few Spark Connect calls the broker makes itself: release a session, interrupt its operations.

The broker does not import pyspark's Connect client: it would pull pandas and pyarrow into the Jupyter
server. These requests are a handful of string fields, so they are written here in protobuf's wire
format (messages and field numbers of ``spark/connect/base.proto``) and sent with grpcio's generic
unary calls. Calls block: run them in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass

from .address import ConnectAddress

SERVICE = "/spark.connect.SparkConnectService/"
CLIENT_TYPE = "jupyter-spark-broker"
_INTERRUPT_TYPE_ALL = 1


class ConnectRpcError(RuntimeError):
    """The server answered with an error; ``code`` is the gRPC status name (``INTERNAL``, …)."""

    def __init__(self, message: str, code: str = "UNKNOWN"):
        super().__init__(message)
        self.code = code


class ConnectUnauthenticated(ConnectRpcError):
    """The server refused the token."""


class ConnectUnreachable(ConnectRpcError):
    """Nothing answered at the server's address."""


# --- protobuf wire format: just what these messages need --------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _string_field(number: int, value: str) -> bytes:
    return _bytes_field(number, value.encode("utf-8"))


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def decode_strings(data: bytes) -> dict[int, list[str]]:
    """Field number -> its length-delimited values as text; other wire types are skipped."""
    fields: dict[int, list[str]] = {}
    at = 0
    while at < len(data):
        key, at = _read_varint(data, at)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, at = _read_varint(data, at)
        elif wire_type == 1:
            at += 8
        elif wire_type == 5:
            at += 4
        elif wire_type == 2:
            length, at = _read_varint(data, at)
            fields.setdefault(number, []).append(data[at : at + length].decode("utf-8", "replace"))
            at += length
        else:
            raise ConnectRpcError(f"unexpected protobuf wire type {wire_type} in a reply")
    return fields


def _session_header(session_id: str, user_id: str) -> bytes:
    """Fields 1-3 of ReleaseSessionRequest and InterruptRequest alike: session_id, user_context
    (UserContext.user_id = 1), client_type."""
    return (
        _string_field(1, session_id)
        + _bytes_field(2, _string_field(1, user_id))
        + _string_field(3, CLIENT_TYPE)
    )


# --- calls ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleasedSession:
    session_id: str
    server_side_session_id: str | None


class ConnectRpc:
    """A gRPC channel to one Connect server, authenticated with its token."""

    def __init__(self, address: ConnectAddress, timeout: float = 15.0):
        import grpc  # the `connect` extra; only the broker's Connect paths need it

        self._grpc = grpc
        self.address = address
        self.timeout = timeout
        target = f"{address.host}:{address.port}"
        token = address.token.get_secret_value() if address.token else None
        self._metadata: list[tuple[str, str]] = []
        if address.use_ssl:
            credentials = grpc.ssl_channel_credentials()
            if token is not None:
                credentials = grpc.composite_channel_credentials(
                    credentials, grpc.access_token_call_credentials(token)
                )
            self._channel = grpc.secure_channel(target, credentials)
        else:
            # A plain channel, to this machine's loopback only (ConnectAddress allows a token
            # without TLS for localhost only); the bearer header is what the server checks.
            self._channel = grpc.insecure_channel(target)
            if token is not None:
                self._metadata.append(("authorization", f"Bearer {token}"))

    def _call(self, method: str, request: bytes) -> bytes:
        call = self._channel.unary_unary(
            SERVICE + method,
            request_serializer=lambda raw: raw,
            response_deserializer=lambda raw: raw,
        )
        try:
            return call(request, timeout=self.timeout, metadata=tuple(self._metadata))
        except self._grpc.RpcError as error:
            code = error.code()
            name = code.name if code is not None else "UNKNOWN"
            where = f"Spark Connect at {self.address.host}:{self.address.port}"
            if code == self._grpc.StatusCode.UNAUTHENTICATED:
                raise ConnectUnauthenticated(f"{where} refused the token", name)
            if code in (self._grpc.StatusCode.UNAVAILABLE, self._grpc.StatusCode.DEADLINE_EXCEEDED):
                raise ConnectUnreachable(f"{where} did not answer: {error.details()}", name)
            raise ConnectRpcError(f"{where}: {error.details()}", name)

    def release_session(self, session_id: str, user_id: str) -> ReleasedSession:
        """End the server-side session: its temp views, cached data and running operations go.
        The id cannot be used again on that server (it answers ``SESSION_CLOSED``)."""
        reply = decode_strings(self._call("ReleaseSession", _session_header(session_id, user_id)))
        return ReleasedSession(
            session_id=(reply.get(1) or [session_id])[0],
            server_side_session_id=next(iter(reply.get(2, [])), None),
        )

    def interrupt_all(self, session_id: str, user_id: str) -> list[str]:
        """Interrupt every running operation of a session; the ids of those interrupted."""
        request = (
            _session_header(session_id, user_id)
            + _varint(4 << 3 | 0)
            + _varint(_INTERRUPT_TYPE_ALL)
        )
        return decode_strings(self._call("Interrupt", request)).get(2, [])

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> ConnectRpc:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
