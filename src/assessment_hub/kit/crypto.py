"""Encryption at rest for connector credentials and webhook secrets (Fernet: AES-128-CBC + HMAC-SHA256).

The key is ``ASSESSMENT_HUB_SECRET_KEY`` (a Fernet key: 32 url-safe base64-encoded bytes; generate one
with ``assessment-hub generate-secret-key``). In development without one, a fixed development key is used
and the hub says so; in production the hub refuses to start without it (``config.Settings``).
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

DEVELOPMENT_KEY = "ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZHVjdCE="
"""Used only when ``environment=development`` and no key is configured. Never for real credentials."""


class Cipher:
    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())

    def encrypt_json(self, value: Any) -> str:
        return self._fernet.encrypt(json.dumps(value, separators=(",", ":")).encode()).decode()

    def decrypt_json(self, token: str) -> Any:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            raise ValueError("cannot decrypt: ASSESSMENT_HUB_SECRET_KEY differs from the key used to encrypt") from None


def generate_key() -> str:
    return Fernet.generate_key().decode()
