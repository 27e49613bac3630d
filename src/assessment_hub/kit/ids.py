"""Identifiers in Kombo's shape: 24 characters of [A-Za-z0-9] (kombo-contract.md §2)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
ID_LENGTH = 24


def new_id() -> str:
    """A fresh 24-character alphanumeric id, e.g. ``B5KQKhAgTv6ZwzrfAbqbhipd`` (142 bits of entropy)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(ID_LENGTH))


def new_integration_id(tool: str) -> str:
    """An integration id ``<tool>:<24 alphanumerics>``, e.g. ``sandbox:HWUTwvyx2wLoSUHphiWVrp28``."""
    return f"{tool}:{new_id()}"
