"""Kernel tests: real IPython kernels started by the real Jupyter server of the broker tests, with the
same broker and local Livy."""

from __future__ import annotations

import os

import pytest

from tests.broker.conftest import api, broker_app, broker_config, jp_server_config  # noqa: F401


@pytest.fixture
def kernel_env(jp_serverapp, http_server_client, jp_base_url, jp_root_dir) -> dict[str, str]:
    """What the extension hands kernels in a real server (its start hook does not run under pytest)."""
    return {
        **os.environ,
        "SPARK_BROKER_URL": f"http://127.0.0.1:{http_server_client.get_http_port()}{jp_base_url}",
        "SPARK_BROKER_TOKEN": jp_serverapp.identity_provider.token,
        "JPY_SESSION_NAME": str(jp_root_dir / "work" / "spark.ipynb"),
    }


class Kernel:
    def __init__(self, server, kernel_id: str):
        self.server, self.id = server, kernel_id

    async def connect(self) -> None:
        self.client = self.server.kernel_manager.get_kernel(self.id).client()
        self.client.start_channels()
        await self.client.wait_for_ready(timeout=60)

    async def run(
        self, code: str, timeout: float = 300, *, stdin_hook=None, allow_stdin: bool = True
    ) -> tuple[dict, str, list[dict]]:
        """The execute_reply content, the text shown, and any error outputs.

        The text is that of the outputs as a notebook saves them: a display updated in place
        (``update_display_data``) shows its last content. ``self.outputs`` keeps those outputs.
        ``stdin_hook`` answers the kernel's input requests (``input()``, ``getpass``), as a
        front end's input box does; ``allow_stdin=False`` is a front end without one.
        """
        outputs: list[dict] = []
        errors: list[dict] = []

        def collect(message: dict) -> None:
            kind, content = message["header"]["msg_type"], message["content"]
            if kind == "stream":
                outputs.append({"output_type": "stream", "text": content["text"]})
            elif kind in ("display_data", "execute_result"):
                display_id = content.get("transient", {}).get("display_id")
                outputs.append({"output_type": kind, "data": content["data"], "id": display_id})
            elif kind == "update_display_data":
                display_id = content["transient"]["display_id"]
                for output in outputs:
                    if output.get("id") == display_id:
                        output["data"] = content["data"]
            elif kind == "error":
                errors.append(content)

        reply = await self.client.execute_interactive(
            code,
            output_hook=collect,
            timeout=timeout,
            stdin_hook=stdin_hook,
            allow_stdin=allow_stdin,
        )
        self.outputs = outputs
        shown = "".join(o.get("text") or o["data"].get("text/plain", "") + "\n" for o in outputs)
        return reply["content"], shown, errors

    async def shutdown(self) -> None:
        self.client.stop_channels()
        await self.server.kernel_manager.shutdown_kernel(self.id)


async def start_kernel(
    server, env: dict[str, str], *, load: bool = True, name: str = "python3"
) -> Kernel:
    started = Kernel(server, await server.kernel_manager.start_kernel(kernel_name=name, env=env))
    await started.connect()
    if load:
        reply, _, _ = await started.run("%load_ext jupyter_spark_broker.kernel")
        assert reply["status"] == "ok"
    return started


@pytest.fixture
def kernel(jp_serverapp, kernel_env, jp_asyncio_loop):
    started = jp_asyncio_loop.run_until_complete(start_kernel(jp_serverapp, kernel_env))
    yield started
    jp_asyncio_loop.run_until_complete(started.shutdown())
