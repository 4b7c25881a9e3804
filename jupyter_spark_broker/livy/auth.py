"""Authentication for the Livy client, by sparkmagic's names.

``None``, ``Basic_Access`` and ``Kerberos`` (:mod:`.kerberos`) are built in. Any other name is looked up
in the ``authenticators`` map (name -> dotted path) or taken as a dotted path itself: it must name an
``httpx.Auth`` subclass or a factory returning one, called with the username, password and options.
That is the plug-in point for site-specific schemes; the map may also replace a built-in name.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping

import httpx

from ..support.json_types import JSON

AUTH_NONE = "None"
AUTH_BASIC = "Basic_Access"
AUTH_KERBEROS = "Kerberos"


class AuthConfigError(ValueError):
    """The auth name or its credentials are unusable."""


def build_auth(
    auth: str | None,
    *,
    username: str = "",
    password: str = "",
    options: Mapping[str, JSON] | None = None,
    authenticators: Mapping[str, str] | None = None,
) -> httpx.Auth | None:
    """Return the ``httpx.Auth`` for sparkmagic-style ``auth``; ``None`` means no authentication."""
    authenticators = authenticators or {}
    if auth is None or auth == AUTH_NONE:
        return None
    if auth == AUTH_BASIC:
        if not username or not password:
            raise AuthConfigError("Basic_Access needs both a username and a password")
        return httpx.BasicAuth(username, password)
    if auth == AUTH_KERBEROS and auth not in authenticators:
        return _kerberos(username, password, options or {})
    dotted = authenticators.get(auth, auth)
    factory = _import_dotted(dotted)
    made = factory(username=username, password=password, **dict(options or {}))
    if not isinstance(made, httpx.Auth):
        raise AuthConfigError(f"authenticator {dotted!r} did not return an httpx.Auth")
    return made


def _kerberos(username: str, password: str, options: Mapping[str, JSON]) -> httpx.Auth:
    # pyspnego imports without python-gssapi, then fails at the first request: check both up front.
    if importlib.util.find_spec("spnego") is None or importlib.util.find_spec("gssapi") is None:
        raise AuthConfigError(
            "auth Kerberos needs the kerberos extra: pip install 'jupyter-spark-broker[kerberos]' "
            "(it builds against the system's Kerberos library: libkrb5-dev on Debian)"
        )
    from .kerberos import kerberos_auth

    try:
        return kerberos_auth(username=username, password=password, **dict(options))
    except ValueError as error:
        raise AuthConfigError(str(error)) from None


def _import_dotted(dotted: str) -> Callable[..., object]:
    module_name, _, attribute = dotted.replace(":", ".").rpartition(".")
    if not module_name:
        raise AuthConfigError(
            f"unknown auth {dotted!r}: use None, Basic_Access or a dotted path to an httpx.Auth"
        )
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise AuthConfigError(f"cannot load authenticator {dotted!r}: {error}") from error
    if not callable(found):
        raise AuthConfigError(f"authenticator {dotted!r} is not a class or a function")
    factory: Callable[..., object] = found  # getattr's Any: a callable, as checked
    return factory
