"""Notebook moves in the registry match paths exactly: SQLite's LIKE ignores case, so a folder
``Dir`` renamed must not take ``dir/``'s attachments and bindings with it, nor delete them."""

from __future__ import annotations

from jupyter_spark_broker.registry.registry import Registry, new_id


async def registry_with_two_folders(tmp_path) -> tuple[Registry, str]:
    registry = Registry(f"sqlite:///{tmp_path}/registry.sqlite")
    await registry.open()
    session = await registry.insert_session(
        id=new_id(),
        endpoint="local",
        livy_name="case-test",
        kind="pyspark",
        state="idle",
        owner="alice",
        share_key="notebook:alice:Dir/a.ipynb",
        config={},
    )
    for path in ("Dir/a.ipynb", "dir/b.ipynb"):
        await registry.attach(session.id, path, None, "alice")
        await registry.bind("alice", path, "local")
    return registry, session.id


async def test_a_folder_renamed_moves_only_its_own_notebooks(tmp_path):
    registry, session_id = await registry_with_two_folders(tmp_path)
    try:
        assert await registry.move_notebook("Dir", "New") == [session_id]
        attachments, _ = await registry.attachments(session_id=session_id)
        assert sorted(a.path for a in attachments) == ["New/a.ipynb", "dir/b.ipynb"]
        assert await registry.binding("alice", "dir/b.ipynb") == "local"
        assert await registry.binding("alice", "New/a.ipynb") == "local"
    finally:
        await registry.close()


async def test_a_folder_deleted_releases_only_its_own_notebooks(tmp_path):
    registry, session_id = await registry_with_two_folders(tmp_path)
    try:
        assert await registry.release_notebook("Dir") == [session_id]
        attachments, _ = await registry.attachments(session_id=session_id)
        assert [a.path for a in attachments] == ["dir/b.ipynb"]
        assert await registry.binding("alice", "dir/b.ipynb") == "local"
        assert await registry.binding("alice", "Dir/a.ipynb") is None
    finally:
        await registry.close()
