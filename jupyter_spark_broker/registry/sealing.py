"""Encryption of credentials the registry must keep (endpoints added by ``/reconnectsparkmagic``).

Fernet (AES-128-CBC + HMAC) from ``cryptography``, with a key file created mode 0600 beside the
database. Several Jupyter servers sharing one database must share the key file too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from ..support.json_types import JSONObject


class Sealer:
    def __init__(self, key_file: str | Path):
        self.key_file = Path(key_file)
        self._fernet = Fernet(self._load_or_create_key())

    def _load_or_create_key(self) -> bytes:
        if self.key_file.exists():
            return self.key_file.read_bytes().strip()
        self.key_file.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        # O_EXCL: two servers starting at once must not overwrite each other's key.
        try:
            fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self.key_file.read_bytes().strip()
        with os.fdopen(fd, "wb") as out:
            out.write(key)
        return key

    def seal(self, value: JSONObject) -> bytes:
        return self._fernet.encrypt(json.dumps(value).encode("utf-8"))

    def unseal(self, blob: bytes) -> JSONObject | None:
        """The sealed value, or None when it was sealed with another key (it cannot be used)."""
        try:
            value = json.loads(self._fernet.decrypt(blob))
        except InvalidToken:
            return None
        return value if isinstance(value, dict) else None  # seal() takes objects only
