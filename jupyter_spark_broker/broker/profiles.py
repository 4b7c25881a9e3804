"""Profiles: named Spark configurations a notebook picks, and the guard rails each one sets.

A profile names an endpoint, Livy session settings (layered after the endpoint's and the broker's
``session_defaults``, before the request's) and limits. The built-in ``default`` profile is the default
endpoint with nothing added; a configured ``default`` replaces it. Limits bound what a request (the API's
``settings`` or a ``%%configure``) may ask: beyond one is a 403 naming it, except for admin users.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from traitlets import Dict, Int, Unicode, validate
from traitlets.config import LoggingConfigurable, TraitError

from ..livy_local.config import parse_duration
from ..support.json_types import JSONObject
from ..support.pydantic_errors import first_problem
from .errors import BrokerError, Forbidden, NotFound
from .session_settings import fields_of

DEFAULT = "default"
PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Conf the broker sets itself on every session, so cluster admins see whose it is.
TAG_PREFIX = "spark.jupyter."


class TooManySessions(BrokerError):
    """The per-user cap on live sessions (``SparkBroker.max_sessions_per_user``) is reached."""

    status = 429
    reason = "session_cap"


class Limits(BaseModel):
    """What a request may ask of a profile's sessions. Unset: no limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_driver_memory: str | None = Field(None, description="e.g. '4g'")
    max_executor_memory: str | None = None
    max_driver_cores: int | None = Field(None, ge=1)
    max_executor_cores: int | None = Field(None, ge=1)
    max_executors: int | None = Field(None, ge=0)
    allowed_conf: list[str] | None = Field(
        None, description="glob patterns of the conf keys a request may set; null: any key"
    )
    max_lifetime: str | None = Field(
        None, description="Livy ttl of every session (e.g. '8h'); a request may ask less"
    )

    @field_validator("max_driver_memory", "max_executor_memory")
    @classmethod
    def _memory(cls, value: str | None) -> str | None:
        if value is not None:
            memory_bytes(value)
        return value

    @field_validator("max_lifetime")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    endpoint: str | None = Field(None, description="null: the default endpoint")
    display_name: str = ""
    description: str = ""
    settings: JSONObject = Field(default_factory=dict, description="Livy POST /sessions fields")
    limits: Limits = Field(default_factory=Limits)

    @field_validator("settings")
    @classmethod
    def _livy_fields(cls, value: JSONObject) -> JSONObject:
        fields_of(value)  # refuse at start-up what Livy would refuse
        return value


def parse_profiles(raw: Mapping[str, Any]) -> dict[str, Profile]:
    """The ``profiles`` config, plus the built-in ``default``; ValueError names the profile and field."""
    profiles = {DEFAULT: Profile(name=DEFAULT, display_name="Default")}
    for name, fields in raw.items():
        if not PROFILE_NAME.match(name):
            raise ValueError(f"profile name {name!r}: letters, digits, '_', '.' and '-' only")
        if not isinstance(fields, Mapping):
            raise ValueError(f"profile {name!r}: must be a dict")
        try:
            profiles[name] = Profile.model_validate({**fields, "name": name})
        except (ValidationError, BrokerError) as error:
            problem = (
                first_problem(error, "profile") if isinstance(error, ValidationError) else error
            )
            raise ValueError(f"profile {name!r}: {problem}") from None
    return profiles


class SparkProfiles(LoggingConfigurable):
    """The profiles, the warm pool's size and the per-user cap. Configured as
    ``c.SparkProfiles.<name>``."""

    profiles = Dict(
        config=True,
        help="""Named Spark configurations: {"small": {"endpoint", "display_name", "description",
        "settings": {Livy session fields}, "limits": {max_driver_memory, max_executor_memory,
        max_driver_cores, max_executor_cores, max_executors, allowed_conf, max_lifetime}}}; see
        profiles.py. A request beyond a limit is refused (403) unless from an admin user.""",
    )
    warm_pool = Dict(
        value_trait=Int(min=0),
        default_value=None,
        allow_none=True,
        config=True,
        help="""Started, unclaimed sessions to keep per profile: {"default": 2}. A new notebook
        claims one at once, and the pool refills in the background. Default (None): one session of
        the default profile when its endpoint is the embedded local Livy, none otherwise; {}: no
        pool. None under impersonate.""",
    )
    warm_pool_warmup = Dict(
        value_trait=Unicode(),
        default_value={
            "pyspark": "spark.range(1).count()",
            "spark": "spark.range(1).count()",
            "sql": "SELECT 1",
        },
        config=True,
        help="""Code a pooled session runs once, as soon as it is idle, by statement kind: its
        first Spark job pays the JVM's warm-up (class loading, code generation) before a notebook
        claims it. A session counts as warm once this has finished. {}: none.""",
    )
    warm_pool_max_total = Int(
        8, min=0, config=True, help="The most pooled sessions of all profiles together."
    )
    max_sessions_per_user = Int(
        5,
        min=0,
        config=True,
        help="""Live sessions a user may hold at once, Livy and Spark Connect sessions together
        (0: no cap); one more is refused (429 session_cap). Each is a Spark driver, on the embedded
        endpoint a JVM on this machine: a few per user keep one user from taking the machine.
        Admin users are exempt.""",
    )

    def __init__(self, *, default_endpoint: str, **kwargs: Any):
        super().__init__(**kwargs)
        self._profiles = parse_profiles(self.profiles)
        self.default_endpoint = default_endpoint

    @validate("profiles")
    def _valid_profiles(self, proposal: Any) -> JSONObject:
        profiles: JSONObject = proposal["value"]
        try:
            parse_profiles(profiles)
        except ValueError as error:
            raise TraitError(f"SparkProfiles.profiles: {error}") from None
        return profiles

    def names(self) -> list[str]:
        return sorted(self._profiles, key=lambda name: (name != DEFAULT, name))

    def get(self, name: str | None) -> Profile:
        try:
            return self._profiles[name or DEFAULT]
        except KeyError:
            raise NotFound(
                f"no profile named {name!r}; known: {', '.join(self.names())}",
                reason="unknown_profile",
            ) from None

    def endpoint_of(self, profile: Profile) -> str:
        return profile.endpoint or self.default_endpoint

    def describe(self, name: str, warm: int) -> JSONObject:
        profile = self.get(name)
        return {
            "name": name,
            "endpoint": self.endpoint_of(profile),
            "display_name": profile.display_name or name,
            "description": profile.description,
            "settings": profile.settings,
            "limits": profile.limits.model_dump(exclude_none=True),
            "warm": warm,
        }


# -- guard rails ----------------------------------------------------------------------------------

_MEMORY = re.compile(r"^\s*(\d+)\s*([kmgtp]?)b?\s*$", re.IGNORECASE)
_MEMORY_UNITS = {"": 2**20, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}


def memory_bytes(text: str) -> int:
    """Bytes of a JVM memory string ('512m', '4g'); a bare number is MiB, as Spark reads it."""
    match = _MEMORY.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a memory size such as '512m' or '4g'")
    return int(match.group(1)) * _MEMORY_UNITS[match.group(2).lower()]


def enforce_limits(
    profile: Profile, fields: JSONObject, asked: JSONObject, *, exempt: bool
) -> JSONObject:
    """The merged session ``fields`` checked against the profile's limits, with its max lifetime as
    Livy's ``ttl``. ``asked`` is the request's own layer (only its conf keys are checked: the endpoint's
    and the profile's are the admin's). Forbidden names the first limit passed, unless ``exempt``."""
    limits, fields = profile.limits, dict(fields)
    if limits.max_lifetime and not fields.get("ttl"):
        fields["ttl"] = limits.max_lifetime
    if exempt:
        return fields

    def refuse(setting: str, value: Any, limit: str, bound: Any) -> None:
        raise Forbidden(
            f"{setting} {value} is over the limit of profile {profile.name!r} ({limit} = {bound}); "
            "ask an administrator, or pick another profile",
            reason="over_limit",
        )

    for setting, livy_name, limit in (
        ("driver_memory", "driverMemory", "max_driver_memory"),
        ("executor_memory", "executorMemory", "max_executor_memory"),
    ):
        bound, value = getattr(limits, limit), fields.get(setting)
        if bound is not None and value is not None:
            try:
                too_much = memory_bytes(value) > memory_bytes(bound)
            except ValueError as error:
                raise Forbidden(f"{livy_name}: {error}", reason="over_limit") from None
            if too_much:
                refuse(livy_name, value, limit, bound)
    for setting, livy_name, limit in (
        ("driver_cores", "driverCores", "max_driver_cores"),
        ("executor_cores", "executorCores", "max_executor_cores"),
        ("num_executors", "numExecutors", "max_executors"),
    ):
        bound, value = getattr(limits, limit), fields.get(setting)
        if bound is not None and value is not None and value > bound:
            refuse(livy_name, value, limit, bound)
    if limits.max_lifetime and fields.get("ttl"):
        try:
            too_long = parse_duration(fields["ttl"]) > parse_duration(limits.max_lifetime)
        except ValueError as error:
            raise Forbidden(f"ttl: {error}", reason="over_limit") from None
        if too_long:
            refuse("ttl", fields["ttl"], "max_lifetime", limits.max_lifetime)
    if limits.allowed_conf is not None:
        for key in sorted(asked.get("conf") or {}):
            if not any(fnmatch.fnmatchcase(key, pattern) for pattern in limits.allowed_conf):
                allowed = ", ".join(limits.allowed_conf) or "none"
                raise Forbidden(
                    f"conf key {key!r} may not be set in profile {profile.name!r} "
                    f"(allowed_conf: {allowed})",
                    reason="over_limit",
                )
    return fields


def check_machine_bounds(fields: JSONObject, *, max_memory: int, max_cores: int) -> None:
    """Forbidden when a session of the embedded local Livy asks more memory or cores than this
    machine has (``SparkEndpoints.local_max_memory`` and ``local_max_cores``): such a JVM would
    swap the machine for everyone, or never start. Executors on a cluster (a profile's
    ``spark.master`` that is not ``local``) are the cluster's to bound; the driver stays here."""
    master = str((fields.get("conf") or {}).get("spark.master", "local"))
    here = ("driver", "executor") if master.startswith("local") else ("driver",)
    for setting, livy_name in ((f"{role}_memory", f"{role}Memory") for role in here):
        value = fields.get(setting)
        if value is None:
            continue
        try:
            too_much = memory_bytes(value) > max_memory
        except ValueError as error:
            raise Forbidden(f"{livy_name}: {error}", reason="over_limit") from None
        if too_much:
            raise Forbidden(
                f"{livy_name} {value} is more than this machine gives a session of the embedded "
                f"local Livy ({max_memory // 2**20}m, SparkEndpoints.local_max_memory)",
                reason="over_limit",
            )
    for setting, livy_name in ((f"{role}_cores", f"{role}Cores") for role in here):
        value = fields.get(setting)
        if value is not None and value > max_cores:
            raise Forbidden(
                f"{livy_name} {value} is more than this machine gives a session of the embedded "
                f"local Livy ({max_cores}, SparkEndpoints.local_max_cores)",
                reason="over_limit",
            )


def check_session_cap(user: str, live: int, cap: int) -> None:
    """429 once ``user`` holds ``cap`` live sessions (0: no cap)."""
    if cap and live >= cap:
        raise TooManySessions(
            f"{user!r} has {live} live Spark sessions, the cap per user "
            f"(max_sessions_per_user = {cap}); end one (%delete, %cleanup) before starting another",
        )


def tag_conf(
    fields: JSONObject, *, user: str, path: str | None, profile: str, session_id: str
) -> JSONObject:
    """Spark conf naming the session's user, notebook and profile, so cluster admins see whose it is
    in YARN and the Spark UI. An app name the settings chose is kept."""
    conf = dict(fields.get("conf") or {})
    where = path or "API"
    conf.setdefault("spark.app.name", f"jupyter {user}: {where}")
    conf[TAG_PREFIX + "user"] = user
    conf[TAG_PREFIX + "notebook"] = where
    conf[TAG_PREFIX + "profile"] = profile
    conf[TAG_PREFIX + "session"] = session_id
    return {**fields, "conf": conf}
