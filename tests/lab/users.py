"""An identity provider naming real users, as JupyterHub's does, for browser tests of several users:
the browser carries its user in a cookie, API clients in ``Authorization: token NAME``."""

from __future__ import annotations

from jupyter_server.auth.identity import IdentityProvider, User

USER_COOKIE = "jsb-test-user"


class CookieOrTokenUsers(IdentityProvider):
    def get_user(self, handler):
        name = handler.get_cookie(USER_COOKIE)
        if name:
            return User(username=name, name=name)
        scheme, _, name = handler.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "token" or not name:
            return None
        handler._token_authenticated = True  # an API client, as with a real token: no XSRF check
        return User(username=name, name=name)
