"""Opaque signed tokens for links without an API key (unsubscribe, a subscriber's feed)."""

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from shared.settings import Settings

UNSUBSCRIBE, FEED = "unsubscribe", "feed"


def signing_key(settings: Settings) -> bytes:
    secret = settings.signing_key or settings.api_key
    if secret is None:  # the embedded default has no keys: one is made for its data folder
        return local_key(settings.data_dir / "signing.key")
    return hashlib.sha256(b"storywire-tokens:" + secret.get_secret_value().encode()).digest()


def local_key(path: Path) -> bytes:
    """A random key kept in a file readable by its owner only, created on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as out:
        key = secrets.token_bytes(32)
        out.write(key)
    return key


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, purpose: str, value: bytes) -> bytes:
    return hmac.new(key, purpose.encode() + b"\0" + value, hashlib.sha256).digest()[:18]


def sign(key: bytes, purpose: str, value: str) -> str:
    raw = value.encode()
    return f"{_b64(raw)}.{_b64(_mac(key, purpose, raw))}"


def verify(key: bytes, purpose: str, token: str) -> str | None:
    """The value the token was signed for, or None when it is not a token of ours."""
    body, _, mac = token.partition(".")
    try:
        raw, given = _unb64(body), _unb64(mac)
    except (ValueError, TypeError):
        return None
    if not hmac.compare_digest(given, _mac(key, purpose, raw)):
        return None
    return raw.decode(errors="replace")
