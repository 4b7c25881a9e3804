"""sc:// addresses, remote Connect endpoints and the broker's hand-written Connect requests (no Spark)."""

from __future__ import annotations

import json
import uuid

import pytest
from pydantic import SecretStr, ValidationError

from jupyter_spark_broker.connect import (
    ConnectAddress,
    ConnectUrlError,
    RemoteConnectEndpoint,
    connect_user_id,
    parse_connect_url,
)
from jupyter_spark_broker.connect.rpc import _session_header, _varint, decode_strings

SESSION = "3f2c1a9e-8d4b-4f6a-9b1e-2c3d4e5f6a7b"


def test_a_session_url_reads_as_pysparks_client_reads_it():
    pytest.importorskip(
        "pyspark.sql.connect", reason="the connect extra is installed by scripts/test.sh"
    )
    from pyspark.sql.connect.client import DefaultChannelBuilder

    address = ConnectAddress(
        host="localhost",
        port=15123,
        token=SecretStr("s3cr/t;=x"),
        user_id="ann;bob",
        session_id=SESSION,
    )
    builder = DefaultChannelBuilder(address.url())
    assert builder.endpoint == "localhost:15123"
    assert builder.token == "s3cr/t;=x" and builder.userId == "ann;bob"
    assert builder.session_id == SESSION and not builder.use_ssl
    assert parse_connect_url(address.url()) == address


def test_the_token_shows_only_in_url():
    address = ConnectAddress(
        host="localhost", port=15002, token=SecretStr("hunter2"), session_id=SESSION
    )
    assert "hunter2" in address.url()
    for shown in (repr(address), str(address), address.redacted_url(), address.model_dump_json()):
        assert "hunter2" not in shown
    assert address.redacted_url() == f"sc://localhost:15002/;token=***;session_id={SESSION}"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://localhost:15002", "starts with sc://"),
        ("sc://localhost:15002/path", "has no path"),
        ("sc://:15002", "names a host"),
        ("sc://localhost:15002/;token", "needs a value"),
        ("sc://localhost:99999", "port"),
        ("sc://spark.example.com:443/;token=abc", "only sent over TLS"),
        ("sc://127.0.0.1:15002/;token=abc", "only sent over TLS"),
        ("sc://localhost/;session_id=not-a-uuid", "must be a UUID"),
    ],
)
def test_bad_urls_are_refused_with_the_reason(url, problem):
    with pytest.raises(ConnectUrlError, match=problem):
        parse_connect_url(url)


def test_a_token_over_tls_or_to_localhost_is_fine():
    assert parse_connect_url("sc://spark.example.com:443/;use_ssl=true;token=abc").use_ssl
    assert parse_connect_url("sc://localhost/;token=abc").port == 15002


def test_a_remote_endpoint_keeps_its_token_apart_from_its_url():
    endpoint = RemoteConnectEndpoint(
        name="dataproc", url="sc://spark.example.com:443/;use_ssl=true;token=t0k"
    )
    assert endpoint.url == "sc://spark.example.com:443/;use_ssl=true"
    assert endpoint.token.get_secret_value() == "t0k"
    assert "t0k" not in endpoint.model_dump_json() and "t0k" not in repr(endpoint)
    session = endpoint.address.for_session(SESSION, "alice")
    assert (
        session.url()
        == f"sc://spark.example.com:443/;token=t0k;use_ssl=true;user_id=alice;session_id={SESSION}"
    )
    assert json.loads(endpoint.model_dump_json())["token"] == "**********"


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"url": "sc://spark.example.com:15002", "token": "t"}, "only sent over TLS"),
        ({"url": "sc://h:1/;use_ssl=true;token=a", "token": "b"}, "given twice"),
        ({"url": f"sc://h:1/;use_ssl=true;session_id={SESSION}"}, "only token and use_ssl"),
        ({"url": "spark.example.com:15002"}, "starts with sc://"),
        ({"url": "sc://h:1", "extra": 1}, "extra"),
    ],
)
def test_a_bad_remote_endpoint_is_refused_with_the_reason(fields, problem):
    with pytest.raises(ValidationError, match=problem):
        RemoteConnectEndpoint(name="remote", **fields)


def test_user_ids_that_cannot_travel_in_a_url_are_hashed():
    assert connect_user_id("alice") == "alice"
    assert connect_user_id("alice@example.com") == "alice@example.com"
    hashed = connect_user_id("Alice Smith;admin=1")
    assert hashed.startswith("u-") and hashed == connect_user_id("Alice Smith;admin=1")
    assert hashed != connect_user_id("Alice Smith;admin=2")


def test_the_hand_written_requests_are_what_pysparks_protobuf_writes():
    pytest.importorskip(
        "pyspark.sql.connect", reason="the connect extra is installed by scripts/test.sh"
    )
    import pyspark.sql.connect.proto as proto

    release = proto.ReleaseSessionRequest(session_id=SESSION, client_type="jupyter-spark-broker")
    release.user_context.user_id = "alice"
    assert _session_header(SESSION, "alice") == release.SerializeToString()

    interrupt = proto.InterruptRequest()
    interrupt.ParseFromString(_session_header(SESSION, "alice") + _varint(4 << 3) + _varint(1))
    assert interrupt.interrupt_type == proto.InterruptRequest.INTERRUPT_TYPE_ALL
    assert (interrupt.session_id, interrupt.user_context.user_id) == (SESSION, "alice")

    operations = [str(uuid.uuid4()) for _ in range(3)]
    reply = proto.InterruptResponse(
        session_id=SESSION, server_side_session_id="x", interrupted_ids=operations
    )
    assert decode_strings(reply.SerializeToString()) == {1: [SESSION], 2: operations, 3: ["x"]}
