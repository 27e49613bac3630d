"""Encryption at rest for connector credentials and webhook secrets (Fernet: AES-128-CBC + HMAC-SHA256).

A ``Cipher`` holds a key ring (``kit/secret_keys.py``): the first key encrypts, every key decrypts
(cryptography's ``MultiFernet``), so values written under a previous key stay readable while
``assessment-hub secret-key rotate`` re-encrypts them under the new one. There is no built-in key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from assessment_hub.errors import HubError


class SecretKeyMismatch(HubError):
    """A stored value was encrypted under a key this process does not have. 503: the operator must act (the
    message says how); nothing is wrong with the request."""

    status_code = 503
    title = "Secret key mismatch"


class Cipher:
    """``keys``: Fernet keys, the first encrypts; ``reload`` (optional) gives the key ring afresh, asked
    once when a value does not decrypt (a key file another process rotated)."""

    def __init__(
        self, keys: str | Sequence[str], *, reload: Callable[[], list[str]] | None = None, source: str = ""
    ) -> None:
        self.keys = [keys] if isinstance(keys, str) else list(keys)
        if not self.keys:
            raise ValueError("a cipher needs at least one key")
        self._fernet = MultiFernet([Fernet(key.encode()) for key in self.keys])
        self._reload = reload
        self.source = source

    def encrypt_json(self, value: Any) -> str:
        return self._fernet.encrypt(json.dumps(value, separators=(",", ":")).encode()).decode()

    def decrypt_json(self, token: str) -> Any:
        return json.loads(self._decrypt(token.encode()))

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted under the first key (read with any key of the ring)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise self._mismatch() from None

    def readable(self, token: str) -> bool:
        try:
            self._decrypt(token.encode())
        except SecretKeyMismatch:
            return False
        return True

    def _decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            if self._reload is not None:
                keys = self._reload()
                if keys != self.keys:
                    self.keys = keys
                    self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
                    try:
                        return self._fernet.decrypt(token)
                    except InvalidToken:
                        pass
            raise self._mismatch() from None

    def _mismatch(self) -> SecretKeyMismatch:
        return SecretKeyMismatch(
            "Stored credentials were encrypted with another secret key than this hub's"
            f"{' (' + self.source + ')' if self.source else ''}. Operator: set ASSESSMENT_HUB_SECRET_KEY to "
            "the key they were encrypted with, or put that key in ASSESSMENT_HUB_PREVIOUS_SECRET_KEYS and run "
            "`assessment-hub secret-key rotate`."
        )


def check_key(key: str) -> None:
    """Raises ValueError unless ``key`` is a Fernet key (32 url-safe base64-encoded bytes)."""
    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        raise ValueError("must be a Fernet key (32 url-safe base64-encoded bytes)") from None


def generate_key() -> str:
    return Fernet.generate_key().decode()
