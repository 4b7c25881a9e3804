"""A real JupyterHub site on loopback, for the tests of the Hub service: the Hub and its proxy
(configurable-http-proxy from the repository's npm packages), single-user servers spawned as this
OS user (SimpleLocalProcessSpawner) that load the broker, the broker's service (managed by the Hub,
as an operator runs it), and a ``tester`` service whose token the test drives the Hub's API with.

Every server and the service read one ``jupyter_server_config.json`` (``JUPYTER_CONFIG_DIR``): one
registry, one key file, one cluster Livy.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.helpers import config_sections
from tests.live_server import free_port

REPOSITORY = Path(__file__).resolve().parents[2]
# The Hub's proxy, an npm devDependency (scripts/setup.sh installs it with npm ci). It needs Node.js
# 20: the one setup put in the venv when the machine's is older, else the machine's.
PROXY = REPOSITORY / "node_modules" / "configurable-http-proxy" / "bin" / "configurable-http-proxy"
VENV_NODE = Path(sys.prefix) / "node" / "node"


def proxy_command() -> list[str]:
    node = str(VENV_NODE) if VENV_NODE.exists() else (shutil.which("node") or "node")
    return [node, str(PROXY)]


SERVICE = "spark-broker"
ADMIN_SCOPE = "custom:spark-broker:admin"
# A loaded 2-core machine spawns a server (a Python process and the extension) slowly.
SLOW = 300.0

T = TypeVar("T")


def until(check: Callable[[], T], *, what: str, timeout: float = SLOW, interval: float = 0.2) -> T:
    """``check()`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:g} s waiting for {what}; last: {result!r}"
            )
        time.sleep(interval)


HUB_CONFIG = """
import os, json
settings = json.loads(os.environ["HUB_SITE_SETTINGS"])
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = settings["port"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings["hub_port"]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:%d" % settings["proxy_api_port"]
c.ConfigurableHTTPProxy.command = settings["proxy"]
c.JupyterHub.db_url = "sqlite:///" + settings["workdir"] + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = settings["workdir"] + "/cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.Authenticator.admin_users = set(settings["hub_admins"])
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = settings["workdir"] + "/home/{username}"
c.Spawner.cmd = [settings["python"], "-m", "jupyterhub.singleuser"]
c.Spawner.args = ["--allow-root"]
c.Spawner.environment = settings["environment"]
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 300
# The admin scope reaches the servers' tokens only where their OAuth clients may carry it.
c.Spawner.oauth_client_allowed_scopes = [settings["admin_scope"]]
c.JupyterHub.custom_scopes = {
    settings["admin_scope"]: {"description": "See and kill every user's Spark sessions"},
}
c.JupyterHub.services = [
    {
        "name": "spark-broker",
        "url": "http://127.0.0.1:%d" % settings["service_port"],
        "command": [settings["python"], "-m", "jupyter_spark_broker.cli", "hub-service"],
        "environment": settings["environment"],
        "oauth_no_confirm": True,
        "oauth_client_allowed_scopes": [settings["admin_scope"]],
    },
    {"name": "tester", "api_token": os.environ["HUB_TESTER_TOKEN"]},
]
c.JupyterHub.load_roles = [
    {
        "name": "tester",
        "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:users"],
        "services": ["tester"],
    },
    {
        "name": "spark-broker-operators",
        "scopes": [settings["admin_scope"], "access:services!service=spark-broker"],
        "users": settings["operators"],
    },
]
"""


class HubSite:
    """``with HubSite(workdir, livy_url, db_url, hub_admins=[...], operators=[...]) as hub: ...``"""

    def __init__(
        self,
        workdir: Path,
        livy_url: str,
        db_url: str,
        *,
        hub_admins: list[str],
        operators: tuple[str, ...] = (),
        broker_config: dict[str, Any] | None = None,
    ):
        self.workdir = workdir
        self.livy_url = livy_url
        self.db_url = db_url
        self.hub_admins = hub_admins
        self.operators = list(operators)
        self.broker_config = broker_config or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tester_token = secrets.token_hex(16)
        self.process: subprocess.Popen | None = None
        self.tokens: dict[str, str] = {}

    def __enter__(self) -> HubSite:
        if not PROXY.exists():
            raise RuntimeError(f"{PROXY} is missing: scripts/setup.sh installs it (npm ci)")
        config_dir = self.workdir / "config"
        config_dir.mkdir(parents=True, exist_ok=True)
        broker = {
            "endpoints": {"cluster": {"url": self.livy_url}},
            "default_endpoint": "cluster",
            "read_sparkmagic_config": False,
            "db_url": self.db_url,
            # Every server and the service seal with one key: a per-home default would differ.
            "secret_key_file": str(self.workdir / "secret.key"),
            **self.broker_config,
        }
        server_config = {
            "ServerApp": {"jpserver_extensions": {"jupyter_spark_broker": True}},
            **config_sections(broker),
        }
        (config_dir / "jupyter_server_config.json").write_text(json.dumps(server_config))
        (self.workdir / "home").mkdir(exist_ok=True)
        environment = {
            "JUPYTER_CONFIG_DIR": str(config_dir),
            "PYTHONPATH": os.pathsep.join(
                path for path in [str(REPOSITORY), os.environ.get("PYTHONPATH", "")] if path
            ),
        }
        settings = {
            "port": self.port,
            "hub_port": free_port(),
            "proxy_api_port": free_port(),
            "service_port": free_port(),
            "proxy": proxy_command(),
            "workdir": str(self.workdir),
            "python": sys.executable,
            "environment": environment,
            "hub_admins": self.hub_admins,
            "operators": self.operators,
            "admin_scope": ADMIN_SCOPE,
        }
        (self.workdir / "jupyterhub_config.py").write_text(HUB_CONFIG)
        env = {
            **os.environ,
            **environment,
            "HUB_SITE_SETTINGS": json.dumps(settings),
            "HUB_TESTER_TOKEN": self.tester_token,
        }
        log = (self.workdir / "jupyterhub.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(self.workdir / "jupyterhub_config.py")],
            cwd=self.workdir,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,  # its proxy, servers and service stop with it (see __exit__)
        )
        try:
            until(self._answers, what="the Hub's API", timeout=SLOW)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"jupyterhub exited; see {self.workdir / 'jupyterhub.log'}")
        try:
            return httpx.get(self.url + "/hub/api/", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def __exit__(self, *exc: object) -> None:
        if self.process is None:
            return
        # The Hub stops the servers it spawned and its managed services on SIGTERM.
        self.process.terminate()
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait()
        self.process = None

    def log(self) -> str:
        return (self.workdir / "jupyterhub.log").read_text(errors="replace")[-20000:]

    # -- the Hub's API, as the tester service ---------------------------------------------------

    def hub_api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"token {self.tester_token}"}
        return httpx.request(
            method, f"{self.url}/hub/api/{path}", headers=headers, timeout=60, **kwargs
        )

    def add_user(self, name: str) -> str:
        """Create ``name`` and give them an API token (their own permissions)."""
        created = self.hub_api("POST", f"users/{name}")
        assert created.status_code in (201, 409), created.text
        reply = self.hub_api("POST", f"users/{name}/tokens", json={"note": "test"})
        assert reply.status_code in (200, 201), reply.text
        self.tokens[name] = reply.json()["token"]
        return self.tokens[name]

    def start_server(self, name: str) -> None:
        reply = self.hub_api("POST", f"users/{name}/server")
        assert reply.status_code in (201, 202, 400), reply.text
        until(lambda: self._server_ready(name), what=f"{name}'s server", timeout=SLOW)

    def _server_ready(self, name: str) -> bool:
        model = self.hub_api("GET", f"users/{name}").json()
        return bool(model.get("server")) and not model.get("pending")

    def stop_server(self, name: str) -> None:
        reply = self.hub_api("DELETE", f"users/{name}/server")
        assert reply.status_code in (202, 204), reply.text
        until(
            lambda: not self.hub_api("GET", f"users/{name}").json().get("server"),
            what=f"{name}'s server to stop",
            timeout=SLOW,
        )

    def server_process(self, name: str) -> int:
        """The pid of ``name``'s single-user server, among this site's (its config dir)."""
        wanted = {
            f"JUPYTERHUB_USER={name}".encode(),
            f"JUPYTER_CONFIG_DIR={self.workdir / 'config'}".encode(),
        }
        for proc in Path("/proc").iterdir():
            try:
                command = (proc / "cmdline").read_bytes()
                environ = set((proc / "environ").read_bytes().split(b"\0"))
            except (OSError, ValueError):
                continue
            if b"jupyterhub.singleuser" in command and wanted <= environ:
                return int(proc.name)
        raise LookupError(f"no single-user server of {name} runs")

    # -- a user's calls --------------------------------------------------------------------------

    def as_user(self, name: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """``path`` under the site: ``user/alice/spark-broker/api/...``, ``services/...``."""
        headers = {"Authorization": f"token {self.tokens[name]}", **kwargs.pop("headers", {})}
        return httpx.request(method, f"{self.url}/{path}", headers=headers, timeout=120, **kwargs)
