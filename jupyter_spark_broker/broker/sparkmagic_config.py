"""sparkmagic's ``~/.sparkmagic/config.json``, read as broker endpoints, so a sparkmagic user's Livy
(its URL, credentials, Kerberos options, headers and session settings) works unchanged.

The credentials stay in the Jupyter server, as every endpoint's do; kernels never see them.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from pathlib import Path

from ..support.json_types import JSONObject

# sparkmagic's own authenticator classes are requests-based; their names map to the broker's.
SPARKMAGIC_AUTHS = ("None", "Basic_Access", "Kerberos")
# sparkmagic's credential sections, by the kind of kernel that used them.
SECTIONS = {
    "kernel_python_credentials": "python",
    "kernel_scala_credentials": "scala",
    "kernel_r_credentials": "r",
}


def sparkmagic_config_path() -> Path:
    """Where sparkmagic looks: ``$SPARKMAGIC_CONF_DIR/$SPARKMAGIC_CONF_FILE``, by default
    ``~/.sparkmagic/config.json``."""
    directory = os.environ.get("SPARKMAGIC_CONF_DIR") or os.path.join("~", ".sparkmagic")
    name = os.environ.get("SPARKMAGIC_CONF_FILE") or "config.json"
    return Path(directory, name).expanduser()


class SparkmagicConfigError(ValueError):
    """The file is there but cannot be used: says which file and what is wrong."""


def endpoints_from_sparkmagic(path: Path) -> dict[str, JSONObject]:
    """The endpoints a sparkmagic config describes, as ``SparkEndpoints.endpoints`` entries.

    One endpoint per distinct Livy URL: ``sparkmagic`` for the Python kernel's, and
    ``sparkmagic-scala`` / ``sparkmagic-r`` when those kernels used another Livy.
    """
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SparkmagicConfigError(f"{path}: {error}") from None
    if not isinstance(config, dict):
        raise SparkmagicConfigError(f"{path}: not a JSON object")
    session_defaults = _merged(
        _object(path, config, "session_configs_defaults"), _object(path, config, "session_configs")
    )
    endpoints: dict[str, JSONObject] = {}
    seen: dict[str, str] = {}  # URL -> endpoint name
    for section, language in SECTIONS.items():
        credentials = config.get(section)
        if not isinstance(credentials, dict) or not credentials.get("url"):
            continue
        url = str(credentials["url"]).rstrip("/")
        if url in seen:
            continue
        name = "sparkmagic" if not endpoints else f"sparkmagic-{language}"
        seen[url] = name
        endpoints[name] = _endpoint(path, config, credentials, url, session_defaults)
    return endpoints


def _endpoint(
    path: Path,
    config: JSONObject,
    credentials: JSONObject,
    url: str,
    session_defaults: JSONObject,
) -> JSONObject:
    username = str(credentials.get("username") or "")
    password = _password(path, credentials)
    auth = credentials.get("auth") or ("Basic_Access" if username and password else "None")
    if auth not in SPARKMAGIC_AUTHS:
        raise SparkmagicConfigError(
            f"{path}: auth {auth!r} is a custom sparkmagic authenticator; configure it as "
            "SparkEndpoints.authenticators and the endpoint in SparkEndpoints.endpoints instead"
        )
    endpoint: JSONObject = {
        "url": url,
        "auth": auth,
        "username": username,
        "password": password,
        "headers": _object(path, config, "custom_headers"),
        "verify": not bool(config.get("ignore_ssl_errors", False)),
        "session_defaults": session_defaults,
        "description": f"from {path}",
    }
    if auth == "Kerberos":
        # sparkmagic's Kerberos uses the ticket cache and ignores these (here they would mean a
        # password login).
        endpoint["username"] = endpoint["password"] = ""
        endpoint["auth_options"] = _object(path, config, "kerberos_auth_configuration")
    return endpoint


def _password(path: Path, credentials: JSONObject) -> str:
    """As sparkmagic reads it: ``base64_password``, when given, over ``password``."""
    encoded = credentials.get("base64_password")
    if not encoded:
        return str(credentials.get("password") or "")
    try:
        return base64.b64decode(str(encoded), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise SparkmagicConfigError(f"{path}: base64_password is not base64 text") from None


def _object(path: Path, config: JSONObject, key: str) -> JSONObject:
    """``config[key]``, a JSON object (or absent: empty); else an error naming the key."""
    value = config.get(key) or {}
    if not isinstance(value, dict):
        raise SparkmagicConfigError(f"{path}: {key} must be a JSON object")
    return dict(value)


def _merged(base: JSONObject, override: JSONObject) -> JSONObject:
    """sparkmagic's merge of session_configs over session_configs_defaults (``conf`` merged)."""
    merged = {**base, **override}
    if isinstance(base.get("conf"), dict) and isinstance(override.get("conf"), dict):
        merged["conf"] = {**base["conf"], **override["conf"]}
    return merged
