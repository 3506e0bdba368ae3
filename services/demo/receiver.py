"""A loopback webhook receiver that verifies Standard Webhooks signatures."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


class WebhookReceiver:
    """Records every POST; `alerts` holds the verified ones, `rejected` the rest. A request whose
    body ended before its content-length (the sender went away mid-send) is recorded in
    `requests` with `complete` false and answered with nothing: it was never a whole message."""

    def __init__(self, host: str = "127.0.0.1"):
        self.secret: str | None = None
        self.alerts: list[dict] = []
        self.rejected: list[str] = []
        self.requests: list[dict] = []
        self.answers: list[int] = []  # status codes to answer next, then 204
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                if len(body) < length:
                    receiver._cut_short(headers)
                    self.close_connection = True
                    return
                status = receiver._receive(body, headers)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/storywire"

    def _cut_short(self, headers: dict) -> None:
        with self._lock:
            self.requests.append({"headers": headers, "body": None, "complete": False})

    def _receive(self, body: bytes, headers: dict) -> int:
        with self._lock:
            self.requests.append({"headers": headers, "body": body, "complete": True})
            try:
                payload = Webhook(self.secret).verify(body, headers)
            except (WebhookVerificationError, TypeError, ValueError) as exc:
                self.rejected.append(str(exc))
                return 401
            status = self.answers.pop(0) if self.answers else 204
            if status < 300:
                self.alerts.append({"webhook_id": headers["webhook-id"], "payload": payload})
            return status

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def as_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)
