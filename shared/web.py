"""What every service's FastAPI app has: problem+json errors, /healthz, /readyz, API-key auth."""

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared import openapi
from shared.problems import Problem, install_problem_handlers, problem_response
from shared.redact import install as redact_logs
from shared.settings import Settings
from shared.unsafe import UnsafeTextGuard


def make_app(title: str, description: str, lifespan=None) -> FastAPI:
    redact_logs()           # however the app is served, its logs carry no secret
    app = FastAPI(title=title, description=description, version="1", lifespan=lifespan)
    install_problem_handlers(app)
    app.add_middleware(UnsafeTextGuard)
    openapi.install(app, lambda: any(m.cls is BodyLimit for m in app.user_middleware))
    return app


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


def api_key_dependency(settings: Settings):
    """Require `Authorization: Bearer <key>` when an API key is configured."""

    @openapi.answers(401)
    def require_key(bearer: Bearer) -> None:
        if settings.api_key is None:
            return
        expected = settings.api_key.get_secret_value()
        given = bearer.credentials if bearer else ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Problem(401, "unauthorized", "A valid API key is required",
                          "Send Authorization: Bearer <key>")

    return Depends(require_key)


@dataclass(frozen=True)
class Caller:
    """Who made a request: an API key id ("operator" for STORYWIRE_API_KEY, "anonymous" when
    no key is configured anywhere) and what it may do."""

    key_id: str
    scopes: frozenset[str]

    def may(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


ALL_SCOPES = frozenset({"ingest", "admin"})


def scoped_key_dependency(settings: Settings, scope: str,
                          find_caller: Callable[[str], Caller | None],
                          keys_exist: Callable[[], bool]):
    """Require a bearer key with `scope`. STORYWIRE_API_KEY is the operator key and may do
    everything; other keys are looked up with `find_caller(token)`. Requests without a key are
    let in only while neither an operator key nor any other key exists (the embedded default)."""

    @openapi.answers(401, 403)
    def require_scope(bearer: Bearer) -> Caller:
        token = bearer.credentials if bearer else ""
        if token:
            expected = settings.api_key.get_secret_value() if settings.api_key else None
            if expected and hmac.compare_digest(token.encode(), expected.encode()):
                return Caller("operator", ALL_SCOPES)
            caller = find_caller(token)
        elif settings.api_key is None and not keys_exist():
            return Caller("anonymous", ALL_SCOPES)
        else:
            caller = None
        if caller is None:
            raise Problem(401, "unauthorized", "A valid API key is required",
                          "Send Authorization: Bearer <key>")
        if not caller.may(scope):
            raise Problem(403, "forbidden", "This API key lacks a scope",
                          f"needs the {scope!r} scope")
        return caller

    return Depends(require_scope)


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


def add_examples(app: FastAPI, examples: dict[str, object]) -> None:
    """Attach a response example to each route by its name (the endpoint function's name)."""
    from fastapi.routing import APIRoute

    for route in app.routes:
        if not isinstance(route, APIRoute) or route.name not in examples:
            continue
        status = str(route.status_code or 200)
        media = route.response_class.media_type if route.response_class and \
            getattr(route.response_class, "media_type", None) else "application/json"
        example = examples[route.name]
        response = route.responses.setdefault(int(status), {})
        response.setdefault("content", {})[media] = {"example": example}
