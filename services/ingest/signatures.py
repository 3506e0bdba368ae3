"""Checking inbound webhook signatures. Pure: bytes and headers in, the webhook id out."""

import base64
import binascii
import hashlib
import hmac
import secrets

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

TOLERANCE_SECONDS = 300  # the standardwebhooks library's timestamp tolerance


class BadSignature(Exception):
    """Missing, malformed, stale or wrong; the message says which, never the secret."""


def new_secret(signing: str) -> str:
    if signing == "standard":
        return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(32)


def verify_standard(secret: str, body: bytes, headers: dict[str, str]) -> str:
    """Standard Webhooks: HMAC-SHA256 over `id.timestamp.body`, timestamp within five minutes.
    Returns the webhook-id (to refuse replays)."""
    try:
        body.decode("utf-8")
        Webhook(secret).verify(body, dict(headers), json_parse=False)
    except (WebhookVerificationError, UnicodeDecodeError) as exc:
        raise BadSignature(str(exc) if isinstance(exc, WebhookVerificationError)
                           else "body is not UTF-8") from None
    except (ValueError, binascii.Error):
        raise BadSignature("malformed webhook-signature") from None
    return headers["webhook-id"]


def sign_github(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_github(secret: str, body: bytes, headers: dict[str, str]) -> str | None:
    """GitHub style: `X-Hub-Signature-256: sha256=<hex HMAC of the raw body>`. Returns the
    delivery id (`X-GitHub-Delivery` or `webhook-id`) if the sender gives one."""
    given = headers.get("x-hub-signature-256", "")
    if not given:
        raise BadSignature("missing X-Hub-Signature-256")
    if not hmac.compare_digest(given.encode(), sign_github(secret, body).encode()):
        raise BadSignature("no matching signature")
    return headers.get("x-github-delivery") or headers.get("webhook-id")
