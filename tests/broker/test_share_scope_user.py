"""Share scope ``user``: one session per user, endpoint and kind for all of a user's notebooks."""

from __future__ import annotations

import pytest


@pytest.fixture
def broker_config(broker_config):
    return {**broker_config, "share_scope": "user"}


async def test_user_scope_shares_one_session_across_notebooks(api):
    one = await api.post("attachments", {"path": "p.ipynb"})
    two = await api.post("attachments", {"path": "q.ipynb"})
    assert one.json["session_id"] == two.json["session_id"]
    sql = await api.post("attachments", {"path": "r.ipynb", "kind": "sql"})  # another profile
    assert sql.json["session_id"] != one.json["session_id"]
