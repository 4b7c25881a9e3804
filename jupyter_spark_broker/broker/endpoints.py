"""Named Livy endpoints: their configuration, their clients, and the embedded local Livy.

An endpoint comes from the ``SparkEndpoints.endpoints`` config, from sparkmagic's config file, or, at
run time, from ``/reconnectsparkmagic`` or ``POST endpoints``. The endpoint ``local`` with no URL is
the shipped local Livy, started as a child process on a free loopback port the first time it is
needed and stopped with the broker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from traitlets import Bool, Dict, Enum, Float, Int, List, Type, Unicode, default, validate
from traitlets.config import LoggingConfigurable, TraitError

from ..livy import (
    AuthConfigError,
    CreateSessionRequest,
    LivyClient,
    LivyTimeouts,
    RetryPolicy,
    build_auth,
)
from ..livy.names import KIND_ALIASES
from ..livy_local import LocalLivyProcess, LocalLivyStartError, ui_guard
from ..livy_local.config import EMBEDDED_USER, session_kinds, spark_mode
from ..metrics import RUNTIME_ENDPOINT, LivyMetrics
from ..support.json_types import JSONObject
from ..support.pydantic_errors import first_problem
from .endpoint_urls import check_endpoint_url_allowed, check_not_internal
from .errors import BrokerError, Conflict, Forbidden, InvalidRequest, LivyUnavailable, NotFound
from .profiles import memory_bytes
from .session_settings import merge_session_settings
from .sparkmagic_config import (
    SparkmagicConfigError,
    endpoints_from_sparkmagic,
    sparkmagic_config_path,
)

LOCAL = "local"
if TYPE_CHECKING:  # a Literal made at run time from names.py, which mypy cannot read: a str to it
    Kind: TypeAlias = str
else:
    Kind = Literal[tuple(sorted(set(KIND_ALIASES.values())))]
# How a run-time endpoint came: sparkmagic's /reconnectsparkmagic, or POST spark-broker/api/endpoints.
RECONNECT, API_ADDED = "reconnect", "api"
SPARKMAGIC = "sparkmagic"  # read from sparkmagic's config file at start
# The JVM of a notebook's driver on this machine (benchmarks/new_notebooks.py measures them): one
# GC thread and no C2 compiler threads competing with the start-up on a small machine (C1 code is
# slower for long CPU-bound jobs: a profile may set -XX:TieredStopAtLevel=4 back); a heap that
# starts small and gives memory back after a full GC, which Spark's cleaner runs every few minutes.
EMBEDDED_DRIVER_JAVA_OPTIONS = (
    "-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xms32m -XX:MinHeapFreeRatio=10 "
    "-XX:MaxHeapFreeRatio=30"
)
# The embedded local Livy runs each notebook's session on this machine: frugal settings by default.
EMBEDDED_SESSION_DEFAULTS = {
    "driverMemory": "512m",
    # Livy's own idle timeout: the broker's keep-alive holds attached sessions; the others end sooner.
    "idleTimeout": "15m",
    "conf": {
        "spark.ui.port": "0",  # any free port: the UI is reached through the broker's proxy
        "spark.sql.shuffle.partitions": "8",  # 200 by default, far too many for local[*]
        "spark.driver.extraJavaOptions": EMBEDDED_DRIVER_JAVA_OPTIONS,
        "spark.cleaner.periodicGC.interval": "5min",  # 30min by default
        # What the Spark UI keeps of past work lives in the driver's heap.
        "spark.ui.retainedJobs": "100",
        "spark.ui.retainedStages": "100",
        "spark.ui.retainedTasks": "10000",
        "spark.sql.ui.retainedExecutions": "50",
    },
}
log = logging.getLogger("jupyter_spark_broker")
# ``alice:`` before a run-time endpoint's name says whose it is (``{user}:username@url``); the colon of
# a URL's scheme (``http://``) is no such prefix.
_USER_PREFIX = re.compile(r"([^:/]+):(?!//)")


def user_prefix_of(name: str) -> str | None:
    """The user a run-time endpoint's name claims by its prefix: ``alice`` for
    ``alice:analyst@http://livy``; None for ``http://livy`` or ``analyst@http://livy``."""
    match = _USER_PREFIX.match(name)
    return match.group(1) if match else None


class TooManyEndpoints(BrokerError):
    """The per-user cap on run-time endpoints (``SparkEndpoints.max_endpoints_per_user``)."""

    status = 429
    reason = "endpoint_cap"


def machine_memory() -> int:
    """Bytes of physical memory of this machine (0 if it cannot be told)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: /proc/meminfo, if any
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
    return 0


def livy_url(value: str) -> str:
    """An http(s) URL with a host, without a trailing slash; ValueError says what is wrong."""
    try:
        parsed = httpx.URL(value)  # the client that will use it must accept it, host and all
    except httpx.InvalidURL as error:
        raise ValueError(f"not a usable URL ({error})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parsed.userinfo:  # it would be listed and logged: credentials go in username and password
        raise ValueError("must not hold credentials (user:password@); give username and password")
    return value.rstrip("/")


class EndpointConfig(BaseModel):
    """One Livy endpoint. ``password`` never leaves the server: not in responses, logs or kernels."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = Field(
        None, description="Livy URL; None only for the embedded 'local' endpoint"
    )
    auth: str = "None"
    username: str = ""
    password: SecretStr = SecretStr("")
    password_file: str | None = Field(None, description="file holding the password (read per use)")
    auth_options: JSONObject = Field(default_factory=dict)
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    verify: bool | str = True
    session_defaults: JSONObject = Field(default_factory=dict)
    description: str = ""
    kinds: list[Kind] | None = Field(
        None,
        description="the session kinds this Livy runs (e.g. without sparkr where it has no R); "
        "None: every kind, or for the embedded local Livy what it has",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return None if value is None else livy_url(value)

    @field_validator("session_defaults")
    @classmethod
    def _known_session_fields(cls, value: JSONObject) -> JSONObject:
        CreateSessionRequest.model_validate(value)  # refuse what Livy would refuse, at start-up
        return value

    def password_value(self) -> str:
        if self.password_file:
            return Path(self.password_file).read_text(encoding="utf-8").strip()
        return self.password.get_secret_value()

    def build_auth(self, authenticators: Mapping[str, str]) -> httpx.Auth | None:
        return build_auth(
            self.auth,
            username=self.username,
            password=self.password_value(),
            options=self.auth_options,
            authenticators=authenticators,
        )


# Names that ``spark-broker/api/endpoints/<name>`` routes elsewhere: no endpoint may take them.
RESERVED_NAMES = frozenset({"health"})


def unsealed(values: JSONObject) -> tuple[EndpointConfig, str]:
    """A run-time endpoint read back from :meth:`SparkEndpoints.sealable`, and its source."""
    values = dict(values)
    source = values.pop("source", RECONNECT)  # rows sealed before sources were kept
    return EndpointConfig.model_validate(values), source


def parse_endpoints(raw: Mapping[str, Any]) -> dict[str, EndpointConfig]:
    """Validate the ``endpoints`` config; the error names the endpoint and the field."""
    parsed = {}
    for name, fields in raw.items():
        try:
            parsed[name] = EndpointConfig.model_validate(fields)
        except ValidationError as error:
            raise ValueError(f"endpoint {name!r}: {first_problem(error, 'endpoint')}") from None
        if parsed[name].url is None and name != LOCAL:
            raise ValueError(f"endpoint {name!r}: url is required")
        if name in RESERVED_NAMES:
            raise ValueError(f"endpoint {name!r}: the name is taken by the API's endpoints/{name}")
    return parsed


class SparkEndpoints(LoggingConfigurable):
    """The broker's Livy endpoints and one :class:`LivyClient` for each, created on first use.
    Configured as ``c.SparkEndpoints.<name>``."""

    endpoints = Dict(
        config=True,
        help="""Livy endpoints by name: {"prod": {"url": "https://livy:8998", "auth": "Kerberos"}}.
        Keys per endpoint: url, auth (None | Basic_Access | Kerberos | dotted path of an httpx.Auth),
        username, password or password_file, auth_options (for Kerberos: keytab, principal, ccache,
        mutual_authentication, service, hostname_override, delegate, force_preemptive), headers,
        verify (bool or CA bundle path),
        session_defaults (Livy POST /sessions fields), description, kinds (the session kinds it
        runs, e.g. ["pyspark", "sql"] without R; default: every kind; JupyterLab is offered a broker
        kernel only if some endpoint runs its kind). An endpoint named 'local' without url (the
        default) is the shipped local Livy, started on first use.""",
    )
    default_endpoint = Unicode(
        LOCAL,
        config=True,
        help="Endpoint for notebooks that name none (env: SPARK_BROKER_ENDPOINT).",
    )
    local_livy_args = List(
        Unicode(),
        default_value=["--spark", "auto"],
        config=True,
        help="Command-line options of the embedded local Livy, e.g. ['--spark', 'off'].",
    )
    local_session_defaults = Dict(
        default_value=EMBEDDED_SESSION_DEFAULTS,
        config=True,
        help="""Livy POST /sessions fields for sessions of the embedded local Livy, under the
        endpoint's own session_defaults. Frugal by default: each notebook's session is a JVM on this
        machine (driverMemory 512m; idleTimeout 15m, so a session no kernel keeps alive ends
        sooner; the Spark UI on any free port, served through the broker's proxy).""",
    )
    authenticators = Dict(
        config=True,
        help="Auth names mapped to dotted paths of httpx.Auth classes (sparkmagic style).",
    )
    read_sparkmagic_config = Bool(
        True,
        config=True,
        help="""Add the Livy endpoints of sparkmagic's config file (~/.sparkmagic/config.json, or
        $SPARKMAGIC_CONF_DIR/$SPARKMAGIC_CONF_FILE) when it exists: 'sparkmagic' for the Python
        kernel's credentials, 'sparkmagic-scala' and 'sparkmagic-r' for others. An endpoint of
        'endpoints' with the same name wins; a file that cannot be used is a warning.""",
    )
    allowed_endpoint_urls = List(
        Unicode(),
        default_value=["*"],
        config=True,
        help="""Glob patterns (fnmatch) of the Livy URLs /reconnectsparkmagic and POST endpoints
        may add as run-time endpoints, e.g. ['https://livy.example.com:8998', 'http://10.0.*'].
        The default '*' allows any (but see internal_endpoint_urls); narrow it so users cannot
        point the broker at other services on its network.""",
    )
    internal_endpoint_urls = Enum(
        ["auto", "allow", "refuse"],
        default_value="auto",
        config=True,
        help="""Whether a run-time endpoint's URL may point inside this machine: loopback,
        link-local (cloud metadata), or any of the machine's own addresses (the Jupyter server's
        API, the embedded Livy, other users' servers). auto: refused on a server of several users
        (an identity provider other than jupyter_server's own token or password login, as under
        JupyterHub; admin_users set; or JupyterHub's environment), allowed on a server of one
        person, whose kernels reach those addresses anyway. allow: an operator's choice (narrow
        allowed_endpoint_urls then); refuse: always. Configured endpoints are never checked.""",
    )
    max_endpoints_per_user = Int(
        20,
        min=0,
        config=True,
        help="""Run-time endpoints (/reconnectsparkmagic, POST endpoints) a user may hold; one more
        is refused (429 endpoint_cap), replacing one of theirs is not. Each is probed by every
        endpoints/health call an admin makes. 0: no cap. Admin users are exempt.""",
    )
    local_max_memory = Unicode(
        "",
        config=True,
        help="""The most driverMemory or executorMemory a session of the embedded local Livy may
        ask, e.g. '8g' (more: 403 over_limit, admins included). Default: this machine's physical
        memory (os.sysconf).""",
    )
    local_max_cores = Int(
        0,
        min=0,
        config=True,
        help="""The most driverCores or executorCores a session of the embedded local Livy may ask
        (more: 403 over_limit). 0 (default): this machine's CPU count.""",
    )
    livy_connect_timeout = Float(5.0, config=True, help="Seconds to connect to Livy.")
    livy_read_timeout = Float(30.0, config=True, help="Seconds to wait for a Livy answer.")
    livy_retries = Int(4, config=True, help="Retries of an idempotent Livy call on 502/503/504.")
    livy_transport_class = Type(
        None,
        klass=httpx.AsyncBaseTransport,
        allow_none=True,
        config=True,
        help="""An httpx transport class, instantiated without arguments for each Livy client
        (default: httpx's own, honouring each endpoint's verify). For sites that route Livy calls
        their own way, and for tests that inject faults.""",
    )

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._configs: dict[str, EndpointConfig] = parse_endpoints(self.endpoints)
        self._configs.setdefault(LOCAL, EndpointConfig())
        self._from_sparkmagic = (
            self._read_sparkmagic_config() if self.read_sparkmagic_config else {}
        )
        for name, config in self._from_sparkmagic.items():
            self._configs.setdefault(name, config)  # the server's own config wins
        for name, config in self._configs.items():
            if config.url is None:  # the embedded local Livy
                defaults = merge_session_settings(
                    self.local_session_defaults, config.session_defaults
                )
                self._configs[name] = config.model_copy(update={"session_defaults": defaults})
        if self.default_endpoint not in self._configs:
            raise TraitError(
                f"SparkEndpoints.default_endpoint {self.default_endpoint!r} is not configured"
            )
        # Set by the app from its identity provider and admin_users (users.serves_several_users);
        # until then, the safe guess.
        self.several_users = True
        self._runtime: dict[str, str] = {}  # run-time endpoint -> the one user who may use it
        self._sources: dict[str, str] = {}  # run-time endpoint -> how it came: reconnect or api
        self._timeouts = LivyTimeouts(
            connect=self.livy_connect_timeout, read=self.livy_read_timeout
        )
        self._retry = RetryPolicy(max_attempts=self.livy_retries + 1)
        self._clients: dict[str, LivyClient] = {}
        self._local: LocalLivyProcess | None = None
        self._local_lock = asyncio.Lock()

    def _read_sparkmagic_config(self) -> dict[str, EndpointConfig]:
        """The endpoints of sparkmagic's config file, if it is there and usable; else a warning
        that names the file and the problem (never a secret: no value of the file is quoted)."""
        path = sparkmagic_config_path()
        if not path.is_file():
            return {}
        try:
            return parse_endpoints(endpoints_from_sparkmagic(path))
        except (SparkmagicConfigError, ValueError) as error:
            self.log.warning("Spark broker: sparkmagic's config %s is not used: %s", path, error)
            return {}

    @validate("local_max_memory")
    def _valid_local_max_memory(self, proposal: Any) -> str:
        if proposal["value"]:
            try:
                memory_bytes(proposal["value"])
            except ValueError as error:
                raise TraitError(f"SparkEndpoints.local_max_memory: {error}") from None
        memory: str = proposal["value"]
        return memory

    @default("default_endpoint")
    def _default_endpoint_from_env(self) -> str:
        return os.environ.get("SPARK_BROKER_ENDPOINT", LOCAL)

    @validate("endpoints")
    def _valid_endpoints(self, proposal: Any) -> JSONObject:
        endpoints: JSONObject = proposal["value"]
        try:
            parse_endpoints(endpoints)
        except ValueError as error:
            raise TraitError(f"SparkEndpoints.endpoints: {error}") from None
        return endpoints

    @property
    def default(self) -> str:
        return self.default_endpoint

    # -- what exists ----------------------------------------------------------------------------

    def names(self) -> list[str]:
        return sorted(self._configs)

    def settings_of(self, name: str) -> EndpointConfig:
        try:
            return self._configs[name]
        except KeyError:
            configured = [n for n in self.names() if n not in self._runtime]  # not users' own
            raise NotFound(
                f"no Livy endpoint named {name!r}; configured: {', '.join(configured)}",
                reason="unknown_endpoint",
            ) from None

    def describe(self, name: str, *, show_embedded_url: bool = True) -> JSONObject:
        """What a user may see of an endpoint: no password, no header values; the embedded Livy's
        address only for ``show_embedded_url`` (admins)."""
        config = self.settings_of(name)
        embedded = self.is_embedded(name)
        shown_local = self._local.url if self._local and show_embedded_url else None
        return {
            "name": name,
            "url": shown_local if embedded else config.url,
            "embedded": embedded,
            "auth": config.auth,
            "username": config.username or None,
            "header_names": sorted(config.headers),
            "default": name == self.default,
            "source": self._source_of(name),
            "description": config.description,
            "session_defaults": config.session_defaults,
            "kinds": sorted(self.kinds_of(name)),
        }

    def _source_of(self, name: str) -> str:
        if name in self._runtime:
            return self._sources[name]
        configured = name in self.endpoints or name == LOCAL
        return SPARKMAGIC if name in self._from_sparkmagic and not configured else "config"

    def kinds_of(self, name: str) -> frozenset[str]:
        """The session kinds endpoint ``name`` runs: as configured; else every kind for a Livy
        elsewhere, and for the embedded local Livy what it has (no R; Scala only with Spark)."""
        config = self.settings_of(name)
        if config.kinds is not None:
            return frozenset(config.kinds)
        if config.url is None:
            return session_kinds(spark_mode(self.local_livy_args))
        return frozenset(KIND_ALIASES.values())

    def runnable_kinds(self) -> frozenset[str]:
        """The kinds some configured endpoint runs: which kernels to offer. Not a run-time one's:
        the launcher is everyone's, and one user's endpoint would change it for all."""
        configured = [name for name in self.names() if name not in self._runtime]
        return frozenset().union(*(self.kinds_of(name) for name in configured))

    def is_embedded(self, name: str) -> bool:
        """True for the shipped local Livy (an endpoint without URL); False for unknown names too."""
        config = self._configs.get(name)
        return config is not None and config.url is None

    def usable_by(self, name: str, user: str) -> bool:
        """A configured endpoint serves everyone; a run-time one only the user who added it, since
        it holds that user's credentials."""
        return self._runtime.get(name, user) == user

    def metric_label(self, name: str) -> str:
        """The endpoint in metrics' labels: a configured one by name; a run-time one (now or once)
        as ``runtime``, since its name holds its user and URL and /metrics is not theirs alone."""
        configured = name in self._configs and name not in self._runtime
        return name if configured else RUNTIME_ENDPOINT

    def check_usable(self, name: str, user: str) -> None:
        """NotFound for an unknown endpoint, Forbidden for another user's run-time one."""
        self.settings_of(name)
        if not self.usable_by(name, user):
            raise Forbidden(
                f"endpoint {name!r} was added by another user with their credentials",
                reason="endpoint_forbidden",
            )

    def names_for(self, user: str) -> list[str]:
        return [name for name in self.names() if self.usable_by(name, user)]

    def find_by_url(self, url: str, user: str) -> str | None:
        """The endpoint with this URL that ``user`` may use: a configured one first."""
        url = url.rstrip("/")
        found = [n for n, c in self._configs.items() if c.url == url and self.usable_by(n, user)]
        return min(found, key=lambda name: name in self._runtime, default=None)

    async def put_runtime(
        self, name: str, config: EndpointConfig, owner: str, source: str = RECONNECT
    ) -> None:
        """Add or replace an endpoint learnt at run time, for ``owner``: from
        ``/reconnectsparkmagic`` (``source`` reconnect) or ``POST endpoints`` (api)."""
        if name in RESERVED_NAMES:
            raise InvalidRequest(
                f"endpoint {name!r}: the name is taken by the API's endpoints/{name}",
                reason="invalid_field",
            )
        if name in self._configs and not self.usable_by(name, owner):
            raise Forbidden(
                f"endpoint {name!r} belongs to another user", reason="endpoint_forbidden"
            )
        if name in self._configs and name not in self._runtime:
            raise Conflict(
                f"endpoint {name!r} is configured on the server", reason="endpoint_taken"
            )
        claimed = user_prefix_of(name)
        if claimed not in (None, owner):
            # Taken first, it would lock that user out of the name their own reconnect makes.
            raise Forbidden(
                f"endpoint {name!r}: a name starting {claimed + ':'!r} is another user's "
                f"(yours start {owner + ':'!r}, or have no such prefix)",
                reason="endpoint_forbidden",
            )
        try:
            config.build_auth(self.authenticators)
        except AuthConfigError as error:
            raise InvalidRequest(str(error), reason="invalid_auth") from None
        old = self._clients.pop(name, None)
        if old is not None:
            await old.aclose()
        self._configs[name] = config
        self._runtime[name] = owner
        self._sources[name] = source

    async def check_runtime_url(self, url: str) -> None:
        """Forbidden unless a user may point a run-time endpoint at ``url``: it matches
        ``allowed_endpoint_urls`` and, where ``internal_endpoint_urls`` says so, is not inside this
        machine."""
        check_endpoint_url_allowed(url, self.allowed_endpoint_urls)
        if self.internal_endpoint_urls == "refuse" or (
            self.internal_endpoint_urls == "auto" and self.several_users
        ):
            await check_not_internal(url)

    def check_endpoint_cap(self, name: str, owner: str) -> None:
        """429 when adding ``name`` would give ``owner`` more than ``max_endpoints_per_user``."""
        cap = self.max_endpoints_per_user
        if not cap or self._runtime.get(name) == owner:  # a replacement adds none
            return
        held = sum(1 for user in self._runtime.values() if user == owner)
        if held >= cap:
            raise TooManyEndpoints(
                f"{owner!r} has {held} run-time endpoints, the cap per user "
                f"(SparkEndpoints.max_endpoints_per_user = {cap}); remove one "
                "(DELETE endpoints/{name}) before adding another",
            )

    def local_bounds(self) -> dict[str, int]:
        """What one session of the embedded local Livy may ask: ``max_memory`` bytes and
        ``max_cores``, from the settings or this machine."""
        memory = memory_bytes(self.local_max_memory) if self.local_max_memory else machine_memory()
        return {
            "max_memory": memory or 2**62,  # unknown: no bound rather than none allowed
            "max_cores": self.local_max_cores or os.cpu_count() or 1,
        }

    def sealable(self, name: str) -> JSONObject:
        """A run-time endpoint as the registry keeps it sealed, secrets and source included:
        :func:`unsealed` reads it back."""
        config = self._configs[name]
        values = config.model_dump(mode="python")
        values["password"] = config.password.get_secret_value()
        values["headers"] = {k: v.get_secret_value() for k, v in config.headers.items()}
        return {**values, "source": self._sources.get(name, RECONNECT)}

    def owner_of_runtime(self, name: str) -> str | None:
        """The user who added run-time endpoint ``name``; None for a configured (or unknown) one."""
        return self._runtime.get(name)

    async def remove_runtime(self, name: str) -> None:
        if name not in self._runtime:
            return
        del self._runtime[name]
        self._sources.pop(name, None)
        self._configs.pop(name, None)
        old = self._clients.pop(name, None)
        if old is not None:
            await old.aclose()

    # -- clients --------------------------------------------------------------------------------

    async def client(self, name: str) -> LivyClient:
        config = self.settings_of(name)
        if config.url is None and not self.local_is_running():
            await self._start_local()  # first use, or the embedded Livy died: (re)start it
        client = self._clients.get(name)
        if client is not None:
            return client
        try:
            auth = (
                self._local_auth() if config.url is None else config.build_auth(self.authenticators)
            )
        except (AuthConfigError, OSError) as error:
            raise LivyUnavailable(f"endpoint {name!r} has unusable credentials: {error}") from None
        client = LivyClient(
            # No url: the embedded Livy, which the first lines started.
            config.url or self._local.url,  # type: ignore[union-attr]
            auth=auth,
            headers={k: v.get_secret_value() for k, v in config.headers.items()},
            verify=config.verify,
            timeouts=self._timeouts,
            retry=self._retry,
            transport=self.livy_transport_class() if self.livy_transport_class else None,
            observer=LivyMetrics(self.metric_label(name)),  # spark_broker_livy_* series
        )
        kept = self._clients.setdefault(name, client)
        if kept is not client:  # another request made one meanwhile
            await client.aclose()
        return kept

    async def _start_local(self) -> None:
        async with self._local_lock:
            if self.local_is_running():
                return
            # Locked: Basic auth with a password made now and known to this broker alone, the CSRF
            # header required and the Host checked (LocalLivyProcess passes the flags).
            # Its one client is this broker, which keeps spark.master out of users' requests
            # (check_request_conf) and lets profiles set it. Only spark.submit.deployMode stays
            # refused: its sessions' drivers are its own worker processes. An operator's own
            # --blacklisted-conf comes later and wins.
            args = ["--blacklisted-conf", "spark.submit.deployMode", *self.local_livy_args]
            self._local = LocalLivyProcess(args, secret=secrets.token_urlsafe(32))
            log.info("starting the embedded local Livy (%s)", " ".join(args))
            try:
                # Spawned on the event-loop thread (it lives as long as Jupyter), waited on elsewhere.
                self._local.spawn()
                await asyncio.to_thread(self._local.wait_until_ready)
            except (LocalLivyStartError, OSError) as error:
                self._local = None
                raise LivyUnavailable(
                    f"the embedded local Livy could not start: {error}", reason="local_livy"
                ) from None
            log.info("embedded local Livy at %s", self._local.url)
            stale = self._clients.pop(LOCAL, None)
            if stale is not None:
                await stale.aclose()

    def _local_auth(self) -> httpx.BasicAuth:
        assert self._local is not None and self._local.secret is not None
        return httpx.BasicAuth(EMBEDDED_USER, self._local.secret)

    def spark_ui_authorization(self, livy_session_id: int) -> str | None:
        """What the embedded Livy's session ``livy_session_id`` asks of a request to its Spark UI
        (its drivers serve it to the broker's proxy only); None while that Livy is not running."""
        local = self._local
        if local is None or local.secret is None:
            return None
        return ui_guard.authorization(ui_guard.session_key(local.secret, livy_session_id))

    def local_is_running(self) -> bool:
        local = self._local
        # Its URL too: a client made while it starts would hold an empty URL for good.
        return (
            local is not None
            and bool(local.url)
            and local.process is not None
            and local.process.poll() is None
        )

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        if self._local is not None:
            await asyncio.to_thread(self._local.stop)
            self._local = None
