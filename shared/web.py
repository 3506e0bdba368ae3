"""What every service's FastAPI app has: problem+json errors, /healthz, /readyz, API-key auth."""

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header

from shared.problems import Problem, install_problem_handlers, problem_response
from shared.settings import Settings


def make_app(title: str, description: str, lifespan=None) -> FastAPI:
    app = FastAPI(title=title, description=description, version="1", lifespan=lifespan)
    install_problem_handlers(app)
    return app


def health_router(checks: dict[str, Callable[[], None]]) -> APIRouter:
    """`/healthz` says the process is up; `/readyz` runs each dependency check."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
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


def api_key_dependency(settings: Settings):
    """Require `Authorization: Bearer <key>` when an API key is configured."""

    def require_key(authorization: Annotated[str | None, Header()] = None) -> None:
        if settings.api_key is None:
            return
        expected = settings.api_key.get_secret_value()
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected.encode()):
            raise Problem(401, "unauthorized", "A valid API key is required",
                          "Send Authorization: Bearer <key>")

    return Depends(require_key)


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
