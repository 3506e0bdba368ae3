"""Errors as application/problem+json (RFC 9457), the same shape from every service."""

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from shared.eventstore import ConcurrencyError, DuplicateEventError

PROBLEM_JSON = "application/problem+json"


class Problem(Exception):
    """An error a client can act on; `type` is a stable machine-readable slug, `headers` go
    with the answer (`Retry-After`)."""

    def __init__(self, status: int, type_: str, title: str, detail: str = "",
                 headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail or title)
        self.status = status
        self.type = type_
        self.title = title
        self.detail = detail
        self.headers = headers
        self.extra = extra


def problem_response(
    status: int,
    type_: str,
    title: str,
    detail: str = "",
    instance: str = "",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {"type": f"urn:storywire:problem:{type_}", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


class UnsafeText(HTTPException):
    """A NUL or a lone surrogate in a request (see shared/unsafe.py). An HTTPException, so that
    the framework's body parsing lets it through instead of answering a bare 400."""

    def __init__(self, detail: str):
        super().__init__(status_code=422, detail=detail)


def allowed_methods(request: Request) -> list[str]:
    """The methods of every route at the request's path (Starlette's 405 names only those of
    the first route there)."""
    return sorted(set(_methods_at(request.app.router.routes, request.scope)))


def _methods_at(routes, scope) -> Iterator[str]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # a router included without a prefix
        if inner is not None:
            yield from _methods_at(inner.routes, scope)
        elif route.matches(scope)[0] != Match.NONE:
            yield from getattr(route, "methods", None) or ()


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(UnsafeText)
    async def _unsafe(request: Request, exc: UnsafeText):
        return problem_response(422, "unsafe-text", "The request holds a NUL or a lone "
                                "surrogate", str(exc.detail), request.url.path)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(exc.status, exc.type, exc.title, exc.detail,
                                request.url.path, headers=exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return problem_response(422, "validation-error", "The request is not valid",
                                f"{len(errors)} field(s) failed validation",
                                request.url.path, errors=errors)

    # Starlette's own (an unknown route, a wrong method, a body it could not parse) as well
    # as FastAPI's: every error answer is a problem
    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        slug = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
                405: "method-not-allowed"}.get(exc.status_code, "http-error")
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return problem_response(exc.status_code, slug, str(exc.detail), "", request.url.path,
                                headers=headers)

    @app.exception_handler(ConcurrencyError)
    async def _conflict(request: Request, exc: ConcurrencyError):
        return problem_response(409, "concurrency-conflict", "The stream has moved on",
                                str(exc), request.url.path, stream_id=exc.stream_id,
                                actual_version=exc.actual)

    @app.exception_handler(DuplicateEventError)
    async def _duplicate(request: Request, exc: DuplicateEventError):
        return problem_response(409, "duplicate-event", "Event ids already recorded",
                                str(exc), request.url.path)
