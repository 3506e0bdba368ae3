"""What every service's FastAPI app has: problem+json errors, /healthz, /readyz, API-key auth."""

import hmac
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from shared import keys, logs, metrics, openapi, tracing
from shared.problems import Problem, install_problem_handlers, problem_response
from shared.ratelimit import Limiter, RateLimited, limiter_for
from shared.redact import install as redact_logs
from shared.settings import Settings
from shared.unsafe import UnsafeTextGuard

log = logging.getLogger(__name__)


def make_app(title: str, description: str, lifespan=None) -> FastAPI:
    redact_logs()           # however the app is served, its logs carry no secret
    app = FastAPI(title=title, description=description, version="1", lifespan=lifespan)
    install_problem_handlers(app)
    app.add_exception_handler(RateLimited, _rate_limited)
    app.add_middleware(UnsafeTextGuard)
    openapi.install(app, lambda: any(m.cls is BodyLimit for m in app.user_middleware))
    tracing.instrument_app(app)  # when tracing is on: a span per request, inside the two below
    build = app.build_middleware_stack  # outermost, so every answer (a 413, a 500) has an id
    app.build_middleware_stack = lambda: RequestId(Measured(build()))  # and is counted
    return app


REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def request_id(incoming: str | None) -> str:
    """A request's id: the caller's `X-Request-ID` when it is well-formed (up to 128 letters,
    digits and `._:-`), else a new one."""
    if incoming and REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestId:
    """ASGI middleware: one id per HTTP request, bound to every line logged while it is served
    and returned in the `X-Request-ID` response header."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"")
        rid = request_id(incoming.decode("latin-1"))

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", rid.encode())]}
            await send(message)

        with logs.bound(request_id=rid):
            await self.app(scope, receive, send_with_id)


def route_label(scope) -> str:
    """The template of the route that answered (`/v1/stories/{slug}`), never the raw path;
    "unmatched" when none did (a 404, or a request refused before routing)."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


class Measured:
    """ASGI middleware: counts each HTTP request and times it, by route template, method
    and status (`storywire_http_requests_total`, `storywire_http_request_duration_seconds`)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500  # what the server answers if the app fails before it starts a response

        async def send_seen(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_seen)
        finally:
            route, method = route_label(scope), method_label(scope["method"])
            metrics.HTTP_REQUESTS.labels(route, method, str(status)).inc()
            metrics.HTTP_SECONDS.labels(route, method).observe(time.perf_counter() - started)


async def _rate_limited(request, exc: RateLimited):
    whose = LIMITS[exc.bucket][1]
    return problem_response(429, "rate-limited", f"Too many requests for this {whose}",
                            f"too many {exc.bucket} requests; retry in {exc.retry_after} s",
                            request.url.path, headers={"Retry-After": str(exc.retry_after)},
                            retry_after=exc.retry_after)


def health_router(checks: dict[str, Callable[[], None]]) -> APIRouter:
    """`/healthz` says the process is up; `/readyz` runs each dependency check."""
    router = APIRouter(tags=["health"])

    def example(body: dict) -> dict:
        return {200: {"content": {"application/json": {"example": body}}}}

    @router.get("/healthz", responses=example({"status": "ok"}))
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", responses={
        **example({"status": "ok", "checks": {name: "ok" for name in checks}}),
        503: {"description": "A dependency is unavailable (problem+json with `checks`)"}})
    def readyz():
        results = {}
        for name, check in checks.items():
            try:
                check()
                results[name] = "ok"
            except Exception as exc:  # a failing dependency is reported, not raised
                results[name] = f"unavailable: {type(exc).__name__}"
        if all(v == "ok" for v in results.values()):
            return {"status": "ok", "checks": results}
        return problem_response(503, "not-ready", "A dependency is unavailable",
                                instance="/readyz", checks=results)

    return router


# `Authorization: Bearer <key>`, read without refusing: the dependencies below decide
Bearer = Annotated[HTTPAuthorizationCredentials | None,
                   Depends(HTTPBearer(auto_error=False, description="an API key"))]


@dataclass(frozen=True)
class Caller:
    """Who made a request: an API key id ("operator" for STORYWIRE_API_KEY, "anonymous" when
    no key is configured anywhere), what it may do and, for a `subscriptions` key, the one
    subscriber it acts for."""

    key_id: str
    scopes: frozenset[str]
    subscriber_id: str | None = None

    def may(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes

    def owns(self, subscriber_id: str | None) -> bool:
        """Whether this caller sees the subscriber's subscriptions and deliveries: a key
        bound to a subscriber sees only its own, an unbound one (admin) every one."""
        return self.subscriber_id is None or self.subscriber_id == subscriber_id


ALL_SCOPES = frozenset(keys.SCOPES)
LIMITS = {  # rate-limited buckets: the setting that gives each its requests per window, and
    # what is counted
    "ingest": ("ingest_rate_limit", "API key"),
    "subscriptions": ("subscription_rate_limit", "API key"),
    "webhooks": ("webhook_rate_limit", "integration"),
}
KEYS_RETRY_AFTER = 5  # seconds a client is asked to wait while the keys database is away


class KeyAuth:
    """The API keys of one service: the operator key (STORYWIRE_API_KEY, every scope, not
    rate-limited) and the keys of the shared table (shared/keys.py), read from the keys
    database when a request needs it. Requests without a key are let in only while neither an
    operator key nor any other key exists (the embedded default)."""

    def __init__(self, settings: Settings, limiter: Limiter | None = None):
        self.settings = settings
        self.limiter = limiter or limiter_for(settings.broker_url)
        self._engine = None
        self._keys_seen = False  # keys are revoked, never deleted: once seen, always there

    def engine(self):
        if self._engine is None:
            from shared.db import get_engine

            self._engine = get_engine(self.settings.keys_database())
        return self._engine

    def keys_exist(self) -> bool:
        if not self._keys_seen:
            self._keys_seen = keys.keys_exist(self.engine())
        return self._keys_seen

    def caller(self, token: str) -> Caller | None:
        """The caller a bearer token names (None: not a valid key); "" is no token. A 503
        when the keys database cannot be reached: the key is neither let in nor refused."""
        operator = self.settings.api_key
        try:
            if token:
                if operator and hmac.compare_digest(token.encode(),
                                                    operator.get_secret_value().encode()):
                    return Caller("operator", ALL_SCOPES)
                record = keys.find_key(self.engine(), token)
                return Caller(record.id, record.scopes, record.subscriber_id) if record else None
            if operator is None and not self.keys_exist():
                return Caller("anonymous", ALL_SCOPES)
            return None
        except keys.KeysUnavailable as exc:
            log.warning("API key not checked: the keys database is unavailable (%s)", exc)
            raise Problem(503, "keys-unavailable", "API keys cannot be checked right now",
                          f"the keys database is unavailable; retry in {KEYS_RETRY_AFTER} s",
                          headers={"Retry-After": str(KEYS_RETRY_AFTER)},
                          retry_after=KEYS_RETRY_AFTER) from None

    def limit(self, bucket: str, caller: Caller) -> None:
        """Count a request of `caller` in `bucket` (the operator key is not counted);
        RateLimited when over the limit."""
        if caller.key_id != "operator":
            self.count(bucket, caller.key_id)

    def count(self, bucket: str, who: str) -> None:
        """Count a request of `who` (a key id, an integration's name) in `bucket`;
        RateLimited when over the limit."""
        per_window = getattr(self.settings, LIMITS[bucket][0])
        if per_window <= 0:
            return
        wait = self.limiter.hit(bucket, who, per_window, self.settings.rate_limit_window)
        if wait is not None:
            raise RateLimited(bucket, wait)

    def authorize(self, token: str, scope: str, limit: str | None = None) -> Caller:
        """The caller `token` names: 401 without a valid key, 403 without `scope`, and with
        `limit` (a bucket of LIMITS) 429 over the key's rate."""
        caller = self.caller(token)
        if caller is None:
            raise Problem(401, "unauthorized", "A valid API key is required",
                          "Send Authorization: Bearer <key>")
        if not caller.may(scope):
            raise Problem(403, "forbidden", "This API key lacks a scope",
                          f"needs the {scope!r} scope")
        if limit:
            self.limit(limit, caller)
        return caller


def require(scope: str, limit: str | None = None):
    """A dependency giving the Caller, checked by the app's KeyAuth (`app.state.auth`): 401
    without a valid key, 403 without `scope`, with `limit` (a bucket of LIMITS) 429 over
    the key's rate, and 503 while the keys database is away."""
    statuses = (401, 403, 429, 503) if limit else (401, 403, 503)

    @openapi.answers(*statuses)
    def require_scope(request: Request, bearer: Bearer) -> Caller:
        auth: KeyAuth = request.app.state.auth
        return auth.authorize(bearer.credentials if bearer else "", scope, limit)

    return Depends(require_scope)


AdminKey = require("admin")  # for `dependencies=[AdminKey]`: every service's admin routes


def app_state(name: str):
    """A dependency giving what `create_app` put on `app.state` under `name`."""

    async def read(request: Request):
        return getattr(request.app.state, name)

    read.__name__ = f"app_{name}"
    return Depends(read)


SettingsDep = Annotated[Settings, app_state("settings")]
EngineDep = Annotated[Engine, app_state("engine")]


def auth_headers(settings: Settings) -> dict[str, str]:
    """Headers for calls between services."""
    if settings.api_key is None:
        return {}
    return {"Authorization": f"Bearer {settings.api_key.get_secret_value()}"}


class BodyLimit:
    """ASGI middleware: refuse request bodies over `max_bytes` (413) before they are read whole,
    whether or not the client sent Content-Length."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            return await self._too_large(scope, receive, send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope, receive, send):
        response = problem_response(413, "payload-too-large", "The request body is too large",
                                    f"at most {self.max_bytes} bytes", scope.get("path", ""))
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def add_examples(router: FastAPI | APIRouter, examples: dict[str, object]) -> None:
    """Attach a response example to each route by its name (the endpoint function's name)."""
    for route in openapi.api_routes(router.routes):
        if route.name not in examples:
            continue
        status = str(route.status_code or 200)
        media = route.response_class.media_type if route.response_class and \
            getattr(route.response_class, "media_type", None) else "application/json"
        example = examples[route.name]
        response = route.responses.setdefault(int(status), {})
        response.setdefault("content", {})[media] = {"example": example}
