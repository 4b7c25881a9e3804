"""A real MIT Kerberos realm on loopback, for the Kerberos tests: a KDC, a service principal for Livy
and a user, each with a keytab, all in a temporary directory.

Needs the Debian packages krb5-kdc, krb5-admin-server and krb5-user (``scripts/setup.sh`` installs them
with the ``test`` extra). Every process that uses the realm reads ``env`` (``KRB5_CONFIG`` and a ticket
cache of its own), so nothing outside the directory is touched.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
from pathlib import Path

from tests.helpers import wait_until_serving
from tests.live_server import free_port

REALM = "JSB.TEST"
SERVICE = "HTTP/localhost"  # what a client asks for when it talks to http://localhost:PORT
USER = "alice"

_KRB5_CONF = """\
[libdefaults]
    default_realm = {realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
    dns_canonicalize_hostname = false
    udp_preference_limit = 1
    default_ccache_name = FILE:{dir}/default.ccache

[realms]
    {realm} = {{
        kdc = 127.0.0.1:{port}
    }}

[domain_realm]
    localhost = {realm}
"""

_KDC_CONF = """\
[kdcdefaults]
    kdc_listen = 127.0.0.1:{port}
    kdc_tcp_listen = 127.0.0.1:{port}

[realms]
    {realm} = {{
        database_name = {dir}/principal
        key_stash_file = {dir}/stash
        acl_file = {dir}/kadm5.acl
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
        max_life = 2h
    }}

[logging]
    kdc = FILE:{dir}/kdc.log
"""


class KerberosRealm:
    """``with KerberosRealm(directory) as realm: realm.env, realm.keytab(...), realm.kinit(...)``."""

    def __init__(self, directory: Path):
        self.dir = directory
        self.port = free_port()
        self.env = {
            "KRB5_CONFIG": str(directory / "krb5.conf"),
            "KRB5_KDC_PROFILE": str(directory / "kdc.conf"),
            "KRB5CCNAME": f"FILE:{directory / 'default.ccache'}",
        }
        self.service_keytab = directory / "http.keytab"
        self.user_keytab = directory / "alice.keytab"
        self.service_principal = f"{SERVICE}@{REALM}"
        self.user_principal = f"{USER}@{REALM}"
        self.user_password = "kerberos-" + secrets.token_hex(8)  # recognisable in a leak check
        self._kdc: subprocess.Popen | None = None

    def __enter__(self) -> KerberosRealm:
        fields = {"realm": REALM, "dir": self.dir, "port": self.port}
        (self.dir / "krb5.conf").write_text(_KRB5_CONF.format(**fields))
        (self.dir / "kdc.conf").write_text(_KDC_CONF.format(**fields))
        (self.dir / "kadm5.acl").write_text("")
        self._run("kdb5_util", "-r", REALM, "create", "-s", "-P", secrets.token_hex(16))
        self.kadmin(f"addprinc -randkey {SERVICE}")
        self.kadmin(f"ktadd -k {self.service_keytab} {SERVICE}")
        self.kadmin(f"addprinc -pw {self.user_password} {USER}")
        # -norandkey keeps the password valid next to the keytab (both ways of logging in are tested).
        self.kadmin(f"ktadd -norandkey -k {self.user_keytab} {USER}")
        log = (self.dir / "krb5kdc.out").open("wb")
        self._kdc = subprocess.Popen(
            ["krb5kdc", "-n", "-r", REALM], env=self._environ(), stdout=log, stderr=log
        )
        self._wait_until_listening()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._kdc is not None:
            self._kdc.terminate()
            self._kdc.wait(timeout=10)

    def kadmin(self, query: str) -> None:
        self._run("kadmin.local", "-r", REALM, "-q", query)

    def kinit(self, ccache: Path) -> None:
        """The user's ticket in ``ccache``, as ``kinit`` leaves it for sparkmagic's users."""
        self._run("kinit", "-k", "-t", str(self.user_keytab), "-c", f"FILE:{ccache}", USER)

    def _environ(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def _run(self, *command: str) -> None:
        done = subprocess.run(command, env=self._environ(), capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:2])} failed: {done.stderr or done.stdout}")

    def _wait_until_listening(self) -> None:
        def listening() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            except OSError:
                return False
            return True

        what = f"krb5kdc (log: {self.dir / 'kdc.log'})"
        wait_until_serving(listening, process=self._kdc, what=what)
