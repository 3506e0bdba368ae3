"""API keys: `sw_live_<id>_<secret>`. The id is public (listed, logged); only a sha256 of the
secret is stored, compared in constant time. Pure functions; the table lives in store.py."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

PREFIX = "sw_live_"
SCOPES = ("ingest", "admin")


@dataclass(frozen=True)
class NewKey:
    id: str
    token: str  # shown once
    secret_hash: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_key() -> NewKey:
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewKey(key_id, f"{PREFIX}{key_id}_{secret}", hash_secret(secret))


def parse_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None."""
    if not token.startswith(PREFIX):
        return None
    key_id, sep, secret = token.removeprefix(PREFIX).partition("_")
    if not (sep and key_id and secret) or len(key_id) > 16:
        return None
    return key_id, secret


def secret_matches(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), secret_hash)
