"""What the magics say an attach did: joined, taken from the warm pool (ready or still starting), or
started."""

from __future__ import annotations

from jupyter_spark_broker.kernel.session_words import attached_line


def attach_reply(origin: str, state: str, livy_id: int | None = 3) -> dict:
    session = {"id": "0123456789abcdef", "name": None, "endpoint": "local", "state": state}
    return {
        "origin": origin,
        "created": origin != "live",
        "session": {**session, "livy_id": livy_id},
    }


def test_each_origin_has_its_sentence():
    assert attached_line(attach_reply("live", "idle")) == (
        "Attached to the Spark session 01234567 on endpoint 'local'"
    )
    assert attached_line(attach_reply("warm_pool", "idle")) == (
        "Ready: the Spark session 01234567 on endpoint 'local', started ahead of time (the warm pool)"
    )
    for state, livy_id in (("starting", 3), ("not_started", None)):
        assert attached_line(attach_reply("warm_pool", state, livy_id)) == (
            "Taking the Spark session 01234567 on endpoint 'local' from the warm pool; "
            "it is still starting"
        )
    assert attached_line(attach_reply("new", "starting")) == (
        "Starting a new Spark session 01234567 on endpoint 'local'"
    )
