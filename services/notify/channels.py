"""Delivery channels. The webhook channel signs per Standard Webhooks."""

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook


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


def webhook_headers(secret: str, message_id: str, body: str, now: datetime) -> dict[str, str]:
    signature = Webhook(secret).sign(message_id, now, body)
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


def send_webhook(http: httpx.Client, url: str, secret: str, message_id: str,
                 payload: dict) -> SendResult:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    headers = webhook_headers(secret, message_id, body, datetime.now(UTC))
    started = time.perf_counter()
    try:
        response = http.post(url, content=body, headers=headers, follow_redirects=False)
    except httpx.HTTPError as exc:
        elapsed = int((time.perf_counter() - started) * 1000)
        return SendResult(None, f"{type(exc).__name__}: {exc}"[:500], "", elapsed)
    elapsed = int((time.perf_counter() - started) * 1000)
    return SendResult(response.status_code, None, response.text[:500], elapsed,
                      parse_retry_after(response.headers.get("retry-after")))
