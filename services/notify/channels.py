"""Delivery channels: signed webhooks (Standard Webhooks), Slack incoming webhooks, email over
SMTP. Each send returns a SendResult; what follows from it is policy.py's business."""

import base64
import json
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from secrets import token_bytes

import httpx
from standardwebhooks import Webhook

from shared.settings import Settings


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str | None
    excerpt: str
    duration_ms: int
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def new_secret() -> str:
    """A new signing secret for a webhook subscription (Standard Webhooks' `whsec_` form)."""
    return "whsec_" + base64.b64encode(token_bytes(32)).decode()


def webhook_headers(secret: str | list[str], message_id: str, body: str,
                    now: datetime) -> dict[str, str]:
    """Signed with every given secret (during a rotation, the new and the previous one)."""
    secrets = [secret] if isinstance(secret, str) else secret
    signature = " ".join(Webhook(s).sign(message_id, now, body) for s in secrets)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "user-agent": "storywire-webhooks/1",
    }


def parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _result(started: float, response: httpx.Response | None = None,
            exc: httpx.HTTPError | None = None) -> SendResult:
    elapsed = int((time.perf_counter() - started) * 1000)
    if response is None:
        return SendResult(None, f"{type(exc).__name__}: {exc}"[:500], "", elapsed)
    return SendResult(response.status_code, None, response.text[:500], elapsed,
                      parse_retry_after(response.headers.get("retry-after")))


def _post(http: httpx.Client, url: str, body: str, headers: dict[str, str]) -> SendResult:
    started = time.perf_counter()
    try:
        response = http.post(url, content=body, headers=headers, follow_redirects=False)
    except httpx.HTTPError as exc:
        return _result(started, exc=exc)
    return _result(started, response)


def webhook_request(secret: str | list[str], message_id: str, payload: dict
                    ) -> tuple[str, dict[str, str]]:
    """The body and the signed headers of a webhook."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    return body, webhook_headers(secret, message_id, body, datetime.now(UTC))


def send_webhook(http: httpx.Client, url: str, secret: str | list[str], message_id: str,
                 payload: dict) -> SendResult:
    return _post(http, url, *webhook_request(secret, message_id, payload))


async def send_webhook_async(http: httpx.AsyncClient, url: str, secret: str | list[str],
                             message_id: str, payload: dict) -> SendResult:
    """`send_webhook` on an async client, so that one worker has many sends under way."""
    body, headers = webhook_request(secret, message_id, payload)
    started = time.perf_counter()
    try:
        response = await http.post(url, content=body, headers=headers, follow_redirects=False)
    except httpx.HTTPError as exc:
        return _result(started, exc=exc)
    return _result(started, response)


def send_slack(http: httpx.Client, url: str, message: dict) -> SendResult:
    body = json.dumps(message, separators=(",", ":"))
    return _post(http, url, body, {"content-type": "application/json",
                                   "user-agent": "storywire-slack/1"})


def send_email(settings: Settings, message: EmailMessage,
               smtp: Callable[..., smtplib.SMTP] = smtplib.SMTP) -> SendResult:
    """One message over SMTP; an SMTP reply code stands in for an HTTP status (2xx is sent)."""
    started = time.perf_counter()

    def result(code: int | None, error: str | None) -> SendResult:
        return SendResult(code, error, "", int((time.perf_counter() - started) * 1000))

    try:
        with smtp(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as conn:
            if settings.smtp_starttls:
                conn.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                password = settings.smtp_password.get_secret_value() \
                    if settings.smtp_password else ""
                conn.login(settings.smtp_username, password)
            conn.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()))
        return result(code, f"recipient refused: {reply.decode(errors='replace')}"[:500])
    except smtplib.SMTPResponseException as exc:
        return result(exc.smtp_code, f"SMTP {exc.smtp_code}: "
                      f"{exc.smtp_error.decode(errors='replace')}"[:500])
    except (smtplib.SMTPException, OSError) as exc:
        return result(None, f"{type(exc).__name__}: {exc}"[:500])
    return result(250, None)
